"""Append-only by the database: the triggers of relief.core.triggers on this package's tables."""

from django.db import migrations

from relief.core import triggers

SPECS = [
    triggers.DocumentTable("distribution_distributioncycle",
                           lines=[("distribution_cyclesite", "cycle_id"), ("distribution_entitlementrule", "cycle_id")]),
]


class Migration(migrations.Migration):
    dependencies = [("distribution", "0005_close_out_from_the_books")]

    # Trigger DDL commits on MariaDB: run it outside a transaction.
    operations = [migrations.RunPython(triggers.create(*SPECS), triggers.drop(*SPECS), atomic=False)]
