"""Append-only by the database: the triggers refuse, through the ORM's queryset and raw SQL alike,
what the model classes refuse — and let the application's own lifecycle through."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from relief.core.documents import DocStatus, Document, DocumentLine
from relief.core.services import document_cancel, document_submit
from relief.inventory import services
from relief.inventory.models import StockEntry, StockEntryLine, StockLedgerEntry, Waybill, WaybillLine
from relief.inventory.services import LineData, ReceivedLine
from tests.inventory.conftest import draft, receive

pytestmark = pytest.mark.smoke


def refused(sql_or_call, params=()):
    """True when the database refuses the statement (and nothing of it is kept)."""
    try:
        with transaction.atomic():
            if callable(sql_or_call):
                sql_or_call()
            else:
                with connection.cursor() as cursor:
                    cursor.execute(sql_or_call, params)
    except DatabaseError:
        return True
    return False


@pytest.fixture
def posted(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 50)
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=5, source="KGM")], purpose="distribution")
    return document_submit(document=entry, user=admin_user)


def test_ledger_rows_cannot_be_updated_or_deleted_by_queryset_or_sql(posted):
    rows = StockLedgerEntry.objects.filter(voucher_no=posted.number)
    table = StockLedgerEntry._meta.db_table
    assert refused(lambda: rows.update(qty=-1))
    assert refused(lambda: rows.delete())
    assert refused(f"UPDATE {table} SET qty = 0 WHERE voucher_no = %s", [posted.number])
    assert refused(f"DELETE FROM {table} WHERE voucher_no = %s", [posted.number])
    assert list(rows.values_list("qty", flat=True)) == [-5]


def test_a_submitted_documents_lines_cannot_be_changed_or_deleted(posted):
    lines = StockEntryLine.objects.filter(entry=posted)
    table = StockEntryLine._meta.db_table
    assert refused(lambda: lines.update(qty=9))
    assert refused(lambda: lines.delete())
    assert refused(f"UPDATE {table} SET qty = 9 WHERE entry_id = %s", [posted.pk])
    assert refused(f"DELETE FROM {table} WHERE entry_id = %s", [posted.pk])
    assert list(lines.values_list("qty", flat=True)) == [5]


def test_a_submitted_document_never_goes_back_to_draft_nor_is_deleted(posted, admin_user):
    entries = StockEntry.objects.filter(pk=posted.pk)
    table = StockEntry._meta.db_table
    assert refused(lambda: entries.update(status=DocStatus.DRAFT))
    assert refused(f"UPDATE {table} SET status = 'draft' WHERE id = %s", [posted.pk])
    assert refused(lambda: entries.delete())
    # The reversal path is the way out, and a cancelled document stays cancelled.
    document_cancel(document=posted, user=admin_user, reason="wrong warehouse")
    assert refused(lambda: entries.update(status=DocStatus.SUBMITTED))
    assert refused(lambda: entries.update(status=DocStatus.DRAFT))
    assert entries.get().status == DocStatus.CANCELLED
    assert sum(StockLedgerEntry.objects.filter(voucher_no=posted.number).values_list("qty", flat=True)) == 0


def test_drafts_stay_editable_and_deletable(stock, admin_user):
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=5, source="KGM")], purpose="distribution")
    assert StockEntryLine.objects.filter(entry=entry).update(qty=7) == 1
    StockEntry.objects.filter(pk=entry.pk).update(remarks="edited")
    entry.delete()
    assert not StockEntryLine.objects.filter(entry_id=entry.pk).exists()


def test_a_waybill_keeps_what_left_on_the_truck_while_receipts_come_and_go(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 50)
    entry = document_submit(document=draft(admin_user, "transfer", [
        LineData(item="BLK", qty=10, source="KGM", target="NYA-FW")]), user=admin_user)
    waybill = Waybill.objects.get(entry=entry)
    line = waybill.lines.get()
    assert refused(lambda: WaybillLine.objects.filter(pk=line.pk).update(qty_dispatched=20))
    assert refused(lambda: WaybillLine.objects.filter(pk=line.pk).delete())
    services.waybill_receive(waybill=waybill, lines=[ReceivedLine(line_id=line.pk, received=10)], user=admin_user)
    services.waybill_receipt_cancel(waybill=waybill, user=admin_user, reason="typed at the wrong warehouse")
    services.waybill_receive(waybill=waybill, lines=[ReceivedLine(line_id=line.pk, received=9, short=1,
                                                                  remarks="one torn")], user=admin_user)
    assert WaybillLine.objects.get(pk=line.pk).qty_received == 9


def test_every_document_and_line_table_has_its_triggers(db):
    if connection.vendor == "mysql":
        query = "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    with connection.cursor() as cursor:
        cursor.execute(query)
        names = {row[0] for row in cursor.fetchall()}
    for model in apps.get_models():
        if not model.__module__.startswith("relief."):
            continue
        table = model._meta.db_table
        if issubclass(model, Document):
            assert {f"{table}_lifecycle", f"{table}_no_delete"} <= names, table
        elif issubclass(model, DocumentLine):
            assert {f"{table}_locked_update", f"{table}_locked_delete"} <= names, table
    assert {"inventory_stockledgerentry_no_update", "inventory_stockledgerentry_no_delete"} <= names
