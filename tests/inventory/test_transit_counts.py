import pytest
from django.core.exceptions import ValidationError

from relief.core.documents import DocumentError
from relief.core.services import document_cancel, document_submit
from relief.inventory import checks, selectors, services
from relief.inventory.models import Bin, PhysicalCount, StockLedgerEntry, Waybill
from relief.inventory.services import CountRow, InsufficientStock, LineData, ReceivedLine
from tests.inventory.conftest import draft, receive


def dispatch(user, stock, qty):
    entry = draft(user, "transfer", [LineData(item="BLK", qty=qty, source="KGM", target="NYA-FW")])
    document_submit(document=entry, user=user)
    return Waybill.objects.get(entry=entry)


def test_dispatch_moves_stock_into_transit_then_partial_receipt_posts_losses(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 100, grant=stock.grant)
    waybill = dispatch(admin_user, stock, 60)
    assert waybill.number.startswith("WB-") and waybill.status == "in_transit"
    summary = {r["item"]: r for r in selectors.warehouse_stock_summary(warehouse=stock.camp)}
    assert summary["BLK"]["in_transit"] == 60 and summary["BLK"]["on_hand"] == 0
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 40

    line = waybill.lines.get()
    with pytest.raises(ValidationError) as err:
        services.waybill_receive(waybill=waybill, user=admin_user,
                                 lines=[ReceivedLine(line_id=line.pk, received=50, short=5, damaged=4)])
    message = " ".join(sum(err.value.message_dict.values(), []))
    assert "must equal dispatched 60" in message
    with pytest.raises(ValidationError, match="say what happened"):
        services.waybill_receive(waybill=waybill, user=admin_user,
                                 lines=[ReceivedLine(line_id=line.pk, received=50, short=6, damaged=4)])
    assert not StockLedgerEntry.objects.filter(voucher_type="waybill_receipt").exists()

    services.waybill_receive(waybill=waybill, user=admin_user, lines=[
        ReceivedLine(line_id=line.pk, received=50, short=6, damaged=4, remarks="one carton wet, bale torn")])
    waybill.refresh_from_db()
    assert waybill.status == "received"
    summary = {r["item"]: r for r in selectors.warehouse_stock_summary(warehouse=stock.camp)}
    assert summary["BLK"]["on_hand"] == 50 and summary["BLK"]["in_transit"] == 0
    losses = StockLedgerEntry.objects.filter(voucher_no=waybill.receipt_voucher, kind="loss").order_by("qty")
    assert [(r.qty, r.reason.split(":")[0]) for r in losses] == [(-6, "short on arrival"),
                                                                  (-4, "damaged in transit")]
    report = selectors.donor_report(grant=stock.grant)
    row = report["rows"][0]
    assert (row["received"], row["lost"], row["closing"]) == (100, 10, 90)
    with pytest.raises(DocumentError, match="only goods in transit"):
        services.waybill_receive(waybill=waybill, user=admin_user, lines=[ReceivedLine(line_id=line.pk, received=60)])
    with pytest.raises(DocumentError, match="was received"):
        document_cancel(document=waybill.entry, user=admin_user, reason="entered by mistake")
    assert checks.run() == []


def test_cancelling_a_transfer_in_transit_brings_the_goods_back(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 10)
    waybill = dispatch(admin_user, stock, 10)
    document_cancel(document=waybill.entry, user=admin_user, reason="entered by mistake")
    waybill.refresh_from_db()
    assert waybill.status == "cancelled"
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 10
    assert not Bin.objects.filter(warehouse=waybill.transit, on_hand__gt=0).exists()


def test_count_with_errors_reports_all_of_them_and_changes_nothing(stock, admin_user):
    grn = receive(admin_user, stock.main, stock.blanket, 10)
    count = services.count_sheet_create(warehouse=stock.main, user=admin_user)
    lot = f"{grn.number}-1"
    rows = [CountRow(row=2, item="BLK", lot=lot, counted=-1), CountRow(row=3, item="BLK", lot="NOPE", counted=3),
            CountRow(row=4, item="SOAP", lot=lot, counted=1), CountRow(row=5, item="BLK", lot=lot, counted="ten")]
    with pytest.raises(ValidationError) as err:
        services.count_lines_enter(count=count, rows=rows, user=admin_user)
    messages = err.value.messages
    assert [m.split(":")[0] for m in messages] == ["row 2", "row 3", "row 4", "row 5"]
    assert count.lines.get().counted_qty is None
    with pytest.raises(DocumentError, match="no counted quantity"):
        services.count_submit(count=count, user=admin_user)
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 10
    assert not StockLedgerEntry.objects.filter(voucher_type="count").exists()


def test_count_posts_adjustments_in_chunks_and_cancel_reverses(stock, admin_user):
    lots = [f"{receive(admin_user, stock.main, stock.blanket, 10).number}-1" for _ in range(5)]
    count = services.count_sheet_create(warehouse=stock.main, user=admin_user)
    assert count.lines.count() == 5
    counted = [10, 7, 12, 0, 10]
    rows = [CountRow(row=n + 2, item="BLK", lot=lot, counted=c)
            for n, (lot, c) in enumerate(zip(lots, counted, strict=True))]
    services.count_lines_enter(count=count, user=admin_user, rows=rows)
    seen = []
    count = services.count_submit(count=count, user=admin_user, chunk=2, progress=lambda d, t: seen.append((d, t)))
    assert count.status == "submitted" and seen == [(2, 5), (4, 5), (5, 5)]
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == sum(counted)
    assert sorted(StockLedgerEntry.objects.filter(voucher_no=count.number).values_list("qty", flat=True)) == [
        -10, -3, 2]
    document_cancel(document=count, user=admin_user, reason="entered by mistake")
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 50
    assert checks.run() == []


def test_count_cannot_go_below_what_is_reserved(stock, admin_user):
    grn = receive(admin_user, stock.main, stock.blanket, 10)
    services.reservation_set(warehouse=stock.main, item=stock.blanket, reference="CYC-1", qty=6, user=admin_user)
    count = services.count_sheet_create(warehouse=stock.main, user=admin_user)
    services.count_lines_enter(count=count, user=admin_user,
                               rows=[CountRow(row=2, item="BLK", lot=f"{grn.number}-1", counted=5)])
    with pytest.raises(InsufficientStock):
        document_submit(document=count, user=admin_user)
    assert PhysicalCount.objects.get(pk=count.pk).status == "draft"
