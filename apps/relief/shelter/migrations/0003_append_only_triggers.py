"""Append-only by the database: the triggers of relief.core.triggers on this package's tables."""

from django.db import migrations

from relief.core import triggers

SPECS = [
    triggers.DocumentTable("shelter_allocationplan", lines=[("shelter_allocationplanline", "plan_id")]),
]


class Migration(migrations.Migration):
    dependencies = [("shelter", "0002_allocation_end_reasons_of_lifecycle")]

    # Trigger DDL commits on MariaDB: run it outside a transaction.
    operations = [migrations.RunPython(triggers.create(*SPECS), triggers.drop(*SPECS), atomic=False)]
