"""`relief check` finds each broken cross-table invariant: every one is planted with raw SQL (as a bug, a race
or a hand in the database would leave it) into a clean world, and check must name it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from relief.core.checks import run_integrity_checks
from relief.distribution import services as distribution
from relief.distribution.models import Entitlement, EntitlementStatus, Redemption
from relief.inventory.models import Bin, Reservation, StockLedgerEntry, Waybill
from relief.inventory.services import LineData
from relief.shelter import services as shelter
from tests.builders import build_distribution_world, draft_stock_entry, make_plot


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _table(model) -> str:
    return model._meta.db_table


@pytest.fixture
def world(users):
    from relief.core.services import document_submit

    world = build_distribution_world(users)
    admin = world.users["admin"]
    world.redeemed = distribution.redemption_record(code=world.code(1), event=world.event, client_id="check-1",
                                                    user=admin)
    transfer = draft_stock_entry(admin, "transfer", [LineData(item="BLK", qty=5, source="NYA-DP", target="NDU-DP")])
    world.waybill = Waybill.objects.get(entry=document_submit(document=transfer, user=admin))
    world.plot = make_plot(world.sites["NYA"])
    shelter.plot_allocate(user=users["registrar"], plot=world.plot, household=world.households[2])
    assert run_integrity_checks() == []
    return world


def _plants(world):
    redemption = Redemption.objects.get(client_id="check-1")
    redeemed = Entitlement.objects.filter(status=EntitlementStatus.REDEEMED).first()
    reserved_bin = Reservation.objects.first().bin
    issued = StockLedgerEntry.objects.filter(voucher_no=redemption.voucher_no).first()
    open_household = Entitlement.objects.filter(status=EntitlementStatus.OPEN, site=world.sites["NYA"]).first() \
        .household
    return {
        "plot status vs active allocation": (
            lambda: _sql("UPDATE shelter_plot SET status = 'vacant' WHERE id = %s", [world.plot.pk]),
            "not marked allocated"),
        "entitlement status vs redemption line": (
            lambda: _sql(f"UPDATE {_table(Entitlement)} SET status = 'open' WHERE id = %s", [redeemed.pk]),
            "status disagrees with their redemption line"),
        "reservations vs bins": (
            lambda: _sql(f"UPDATE {_table(Bin)} SET reserved = reserved - 1 WHERE id = %s", [reserved_bin.pk]),
            "reservations sum"),
        "waybill state vs entry": (
            lambda: _sql(f"UPDATE {_table(Waybill)} SET status = 'cancelled' WHERE id = %s", [world.waybill.pk]),
            f"waybill {world.waybill.number} is cancelled but its entry is submitted"),
        "waybill state vs lines and transit stock": (
            lambda: _sql(f"UPDATE {_table(Waybill)} SET status = 'received' WHERE id = %s", [world.waybill.pk]),
            "the waybills in transit carry"),
        "redemption stock vs ledger": (
            lambda: _sql(f"INSERT INTO {_table(StockLedgerEntry)} (item_id, warehouse_id, lot_id, qty, posting_date, "
                         "posted_at, voucher_type, voucher_no, kind, reason, is_reversal) "
                         "SELECT item_id, warehouse_id, lot_id, -1, posting_date, posted_at, voucher_type, voucher_no, "
                         f"kind, reason, 0 FROM {_table(StockLedgerEntry)} WHERE id = %s", [issued.pk]),
            f"redemption {redemption.voucher_no}: stock issued differs"),
        "redemption lots vs ledger lots": (
            lambda: _sql("UPDATE distribution_redemptionlot SET qty = qty + 1 WHERE line_id IN "
                         "(SELECT id FROM distribution_redemptionline WHERE redemption_id = %s)", [redemption.pk]),
            f"redemption {redemption.voucher_no}: the lots it traces differ"),
        "merged household vs open entitlements": (
            lambda: _sql("UPDATE households_household SET status = 'merged', merged_into_id = %s WHERE id = %s",
                         [world.households[-1].pk, open_household.pk]),
            f"household {open_household.number}: not active but has entitlements still to collect"),
        "reservations vs what is still to collect": (
            lambda: _sql(f"UPDATE {_table(Entitlement)} SET status = 'cancelled' WHERE status = 'open' "
                         "AND site_id = %s", [world.sites["NYA"].pk]),
            "still to collect"),
    }


def test_check_finds_each_broken_invariant_planted(world):
    missed = []
    for name, (plant, expected) in _plants(world).items():
        sid = transaction.savepoint()
        plant()
        problems = run_integrity_checks()
        transaction.savepoint_rollback(sid)
        if not any(expected in problem for problem in problems):
            missed.append(f"{name}: expected '{expected}' in {problems}")
    assert missed == []
    assert run_integrity_checks() == []
