import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from relief.core.documents import DocumentError
from relief.core.services import document_cancel, document_submit
from relief.inventory import checks, selectors, services
from relief.inventory.models import Bin, Lot, StockLedgerEntry
from relief.inventory.services import InsufficientStock, LineData
from tests.inventory.conftest import draft, receive


def bins_of(item, warehouse):
    return {b.lot.code: b.on_hand for b in Bin.objects.filter(item=item, warehouse=warehouse).select_related("lot")}


@pytest.mark.smoke
def test_receipt_creates_a_lot_per_line_with_its_grant(stock, admin_user):
    entry = receive(admin_user, stock.main, stock.blanket, 100, grant=stock.grant)
    lot = Lot.objects.get(source=entry.number)
    assert lot.grant == stock.grant and lot.code == f"{entry.number}-1"
    assert entry.number.startswith("GRN-")
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 100
    assert checks.run() == []


@pytest.mark.smoke
def test_issue_refuses_more_than_available_naming_everything(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 10)
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=11, source="KGM")], purpose="distribution")
    with pytest.raises(InsufficientStock) as err:
        document_submit(document=entry, user=admin_user)
    message = str(err.value)
    assert "BLK" in message and "KGM" in message and "available 10" in message and "requested 11" in message
    entry.refresh_from_db()
    assert entry.status == "draft"
    assert StockLedgerEntry.objects.filter(voucher_no=entry.number).count() == 0
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 10


@pytest.mark.smoke
def test_fefo_then_fifo(stock, admin_user):
    today = timezone.localdate()
    late = receive(admin_user, stock.main, stock.soap, 10, expiry=today + datetime.timedelta(days=300))
    early = receive(admin_user, stock.main, stock.soap, 10, expiry=today + datetime.timedelta(days=30))
    also_early = receive(admin_user, stock.main, stock.soap, 10, expiry=today + datetime.timedelta(days=30))
    entry = draft(admin_user, "issue", [LineData(item="SOAP", qty=15, source="KGM")], purpose="distribution")
    document_submit(document=entry, user=admin_user)
    left = bins_of(stock.soap, stock.main)
    # Earliest expiry first; of two with the same expiry, the one received first.
    assert left == {f"{early.number}-1": 0, f"{also_early.number}-1": 5, f"{late.number}-1": 10}


def test_no_expiry_goes_after_dated_lots_and_fifo_among_them(stock, admin_user):
    first = receive(admin_user, stock.main, stock.blanket, 5, date=timezone.localdate() - datetime.timedelta(days=9))
    second = receive(admin_user, stock.main, stock.blanket, 5)
    Lot.objects.filter(source__in=[first.number, second.number]).update(expiry=None)
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=7, source="KGM")], purpose="loan")
    document_submit(document=entry, user=admin_user)
    assert bins_of(stock.blanket, stock.main) == {f"{first.number}-1": 0, f"{second.number}-1": 3}


def test_named_lot_is_taken_instead_of_fefo(stock, admin_user):
    today = timezone.localdate()
    receive(admin_user, stock.main, stock.soap, 10, expiry=today + datetime.timedelta(days=30))
    late = receive(admin_user, stock.main, stock.soap, 10, expiry=today + datetime.timedelta(days=300))
    lot = f"{late.number}-1"
    entry = draft(admin_user, "issue", [LineData(item="SOAP", qty=4, source="KGM", lot=lot)],
                  purpose="write-off", reason="damaged")
    document_submit(document=entry, user=admin_user)
    assert bins_of(stock.soap, stock.main)[lot] == 6


def test_cancel_posts_negated_rows_and_restores_bins(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 50)
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=20, source="KGM")], purpose="distribution")
    document_submit(document=entry, user=admin_user)
    document_cancel(document=entry, user=admin_user, reason="wrong warehouse")
    rows = list(StockLedgerEntry.objects.filter(voucher_no=entry.number).values_list("qty", "is_reversal"))
    assert sorted(rows) == [(-20, False), (20, True)]
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 50
    assert checks.run() == []


def test_cancelling_a_receipt_whose_stock_left_is_refused(stock, admin_user):
    grn = receive(admin_user, stock.main, stock.blanket, 10)
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=8, source="KGM")], purpose="distribution")
    document_submit(document=entry, user=admin_user)
    with pytest.raises(InsufficientStock, match="available 2, requested 10"):
        document_cancel(document=grn, user=admin_user, reason="entered by mistake")
    grn.refresh_from_db()
    assert grn.status == "submitted"


def test_write_off_needs_a_reason_and_bad_lines_are_all_named(stock, admin_user):
    with pytest.raises(ValidationError) as err:
        draft(admin_user, "issue", [LineData(item="NOPE", qty=0, source="XX"), LineData(item="BLK", qty=1)],
              purpose="write-off")
    problems = err.value.message_dict
    assert set(problems) == {"reason", "lines.0.item", "lines.0.qty", "lines.0.source", "lines.1.source"}
    assert "NOPE" in problems["lines.0.item"][0] and "XX" in problems["lines.0.source"][0]


def test_receipt_of_expiry_tracked_item_needs_expiry(stock, admin_user):
    with pytest.raises(ValidationError) as err:
        draft(admin_user, "receipt", [LineData(item="SOAP", qty=5, target="KGM")])
    assert "lines.0.expiry" in err.value.message_dict


def test_balance_as_of_a_past_date_comes_from_the_ledger(stock, admin_user):
    today = timezone.localdate()
    receive(admin_user, stock.main, stock.blanket, 10, date=today - datetime.timedelta(days=10))
    receive(admin_user, stock.main, stock.blanket, 5, date=today - datetime.timedelta(days=2))
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=3, source="KGM")], purpose="distribution")
    document_submit(document=entry, user=admin_user)

    def total(day):
        return sum(selectors.stock_balance_as_of(warehouse=stock.main, item=stock.blanket, date=day).values())

    assert total(today - datetime.timedelta(days=11)) == 0
    assert total(today - datetime.timedelta(days=5)) == 10
    assert total(today) == 12
    card = selectors.stock_card(warehouse=stock.main, item=stock.blanket, start=today - datetime.timedelta(days=5))
    assert card["opening"] == 10 and [r.balance for r in card["rows"]] == [15, 12] and card["closing"] == 12


def test_ledger_rows_cannot_be_changed_or_deleted(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 1)
    row = StockLedgerEntry.objects.get()
    with pytest.raises(DocumentError):
        row.save()
    with pytest.raises(DocumentError):
        row.delete()


def test_check_reports_a_bin_that_drifted_from_its_ledger(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 10)
    Bin.objects.update(on_hand=9)
    problems = checks.run()
    assert len(problems) == 1 and "on hand 9, ledger sum 10" in problems[0]


def test_kitting_consumes_components_and_traces_the_kit_to_the_grant(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 20, grant=stock.grant)
    receive(admin_user, stock.main, stock.soap, 50, grant=stock.grant,
            expiry=timezone.localdate() + datetime.timedelta(days=100))
    entry = draft(admin_user, "kitting", [LineData(item="KIT-CRI", qty=4, source="KGM", target="KGM")])
    document_submit(document=entry, user=admin_user)
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 12
    assert selectors.stock_available(warehouse=stock.main, item=stock.soap) == 30
    kit_lot = Lot.objects.get(item=stock.kit)
    assert kit_lot.grant == stock.grant
    assert kit_lot.expiry == timezone.localdate() + datetime.timedelta(days=100)
    undo = draft(admin_user, "dekitting", [LineData(item="KIT-CRI", qty=1, source="KGM", target="KGM")])
    document_submit(document=undo, user=admin_user)
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 14
    assert Lot.objects.filter(source=undo.number, grant=stock.grant).count() == 2
    short = draft(admin_user, "kitting", [LineData(item="KIT-CRI", qty=8, source="KGM", target="KGM")])
    with pytest.raises(InsufficientStock, match="BLK"):
        document_submit(document=short, user=admin_user)
    assert checks.run() == []


def test_issue_for_voucher_returns_lots_and_reverses(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 3, grant=stock.grant)
    receive(admin_user, stock.main, stock.blanket, 10, grant=stock.other_grant)
    issued = services.stock_issue_for_voucher(warehouse=stock.main, lines=[(stock.blanket, 5)],
                                              voucher_type="redemption", voucher_no="R-1", user=admin_user)
    assert [(lot.grant.code, qty) for lot, qty in issued] == [("ECHO-2026-01", 3), ("BPRM-2026-07", 2)]
    assert services.stock_reverse_voucher(voucher_type="redemption", voucher_no="R-1", user=admin_user) == 2
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 13
    with pytest.raises(DocumentError, match="already been reversed"):
        services.stock_reverse_voucher(voucher_type="redemption", voucher_no="R-1", user=admin_user)


def test_reservation_holds_stock_against_other_issues(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 10)
    services.reservation_set(warehouse=stock.main, item=stock.blanket, reference="CYC-1", qty=8, user=admin_user)
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 2
    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=3, source="KGM")], purpose="loan")
    with pytest.raises(InsufficientStock, match="available 2, requested 3"):
        document_submit(document=entry, user=admin_user)
    with pytest.raises(InsufficientStock, match="available 2, requested 3"):
        services.reservation_set(warehouse=stock.main, item=stock.blanket, reference="CYC-2", qty=3,
                                 user=admin_user)
    # The cycle's own redemptions use its reservation, and consume it.
    services.stock_issue_for_voucher(warehouse=stock.main, lines=[(stock.blanket, 5)], voucher_type="redemption",
                                     voucher_no="R-9", user=admin_user, reservation_reference="CYC-1")
    assert selectors.reserved_for(warehouse=stock.main, item=stock.blanket, reference="CYC-1") == 3
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 2
    services.reservation_set(warehouse=stock.main, item=stock.blanket, reference="CYC-1", qty=0, user=admin_user)
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 5
    assert checks.run() == []
