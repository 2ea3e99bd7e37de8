"""Append-only by the database: the triggers of relief.core.triggers on this package's tables."""

from django.db import migrations

from relief.core import triggers

SPECS = [
    triggers.DocumentTable("replenishment_pipeline", lines=[("replenishment_pipelineline", "pipeline_id")]),
    triggers.DocumentTable("replenishment_replenishmentplan", lines=[("replenishment_planline", "plan_id")]),
    triggers.DocumentTable("replenishment_purchaserequest", lines=[("replenishment_purchaserequestline", "request_id")]),
]


class Migration(migrations.Migration):
    dependencies = [("replenishment", "0002_purchase_request_supplier_prices_approval")]

    # Trigger DDL commits on MariaDB: run it outside a transaction.
    operations = [migrations.RunPython(triggers.create(*SPECS), triggers.drop(*SPECS), atomic=False)]
