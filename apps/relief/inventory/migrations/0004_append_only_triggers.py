"""Append-only by the database: the triggers of relief.core.triggers on this package's tables."""

from django.db import migrations

from relief.core import triggers

SPECS = [
    triggers.Ledger("inventory_stockledgerentry"),
    triggers.DocumentTable("inventory_stockentry", lines=[("inventory_stockentryline", "entry_id")]),
    triggers.DocumentTable("inventory_physicalcount", lines=[("inventory_physicalcountline", "count_id")]),
    # What left on a truck never changes; the receipt columns are filled (and cleared) by the receipt.
    triggers.Frozen("inventory_waybillline", columns=["waybill_id", "item_id", "lot_id", "qty_dispatched"]),
]


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_lot_and_receipt_line_unit_value")]

    # Trigger DDL commits on MariaDB: run it outside a transaction.
    operations = [migrations.RunPython(triggers.create(*SPECS), triggers.drop(*SPECS), atomic=False)]
