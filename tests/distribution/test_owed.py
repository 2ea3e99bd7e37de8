"""Owed items: a short hand-over for want of stock leaves the rest owed, and a later or mop-up event serves it."""

import datetime
import uuid

import pytest
from django.utils import timezone

from relief.distribution import checks, selectors, services
from relief.distribution.models import Entitlement, EntitlementStatus, RedemptionLine
from relief.replenishment.selectors import entitlement_demands
from tests.distribution.conftest import build_world, receive


def redeem(world, n, event=None, **kw):
    return services.redemption_record(code=world.code(n), event=event or world.event, client_id=str(uuid.uuid4()),
                                      user=world.users["distribution"], **kw)


def owed(world, n):
    return {e.item.code: e.qty - e.qty_collected for e in Entitlement.objects.select_related("item")
            .filter(household=world.households[n], status=EntitlementStatus.OWED)}


@pytest.mark.django_db
def test_short_hand_over_leaves_the_rest_owed_and_a_mop_up_serves_owed_lines_only(users):
    # The point holds one of each item; household 0 (7 people) is entitled to 5 blankets, 4 nets, 1 jerrycan.
    world = build_world(users, households=2, stock=1, sizes=(7, 2))
    verdict = services.scan_verify(code=world.code(0), event=world.event)
    lines = {e["item"]: e for e in verdict.entitlements}
    assert (lines["BLK"]["qty"], lines["BLK"]["available"]) == (5, 1)
    assert "holds less" in verdict.message

    short = [services.HandOverLine(item="BLK", qty=1, reason="out_of_stock"),
             services.HandOverLine(item="NET", qty=0, reason="out_of_stock")]
    assert redeem(world, 0, lines=short).verdict == "redeemed"
    assert owed(world, 0) == {"BLK": 4, "NET": 4}
    # The next scan shows what is still owed, not ALREADY COLLECTED.
    again = services.scan_verify(code=world.code(0), event=world.event)
    assert again.verdict == "entitled"
    assert {(e["item"], e["qty"], e["owed"]) for e in again.entitlements} == {("BLK", 4, True), ("NET", 4, True)}
    # A decline closes the line for good; only a shortage (or a damaged item) leaves it owed.
    assert redeem(world, 1, lines=[services.HandOverLine(item="BLK", qty=0, reason="declined"),
                                   services.HandOverLine(item="JRC", qty=0, reason="out_of_stock")]
                  ).verdict == "redeemed"
    assert owed(world, 1) == {"JRC": 1}
    assert checks.run() == []

    # The report lists who is owed what; replenishment counts it as demand at the point.
    report = selectors.event_progress(world.event)["owed"]
    assert [(o["household"], o["item"], o["qty"]) for o in report] == [
        (world.households[0].number, "Blanket", 4), (world.households[0].number, "Mosquito net", 4),
        (world.households[1].number, "Jerrycan 20 L", 1)]
    today = timezone.localdate()
    demand = {(d.item_id, d.warehouse_id): d.qty for d in entitlement_demands(
        today=today, horizon_end=today + datetime.timedelta(days=60), home={})}
    assert demand[(world.items["BLK"].pk, world.points["NYA"].pk)] == 4
    manifest = selectors.event_manifest(world.event)["cards"][world.cards[0].serial]
    assert sorted(manifest["e"]) == [["BLK", 4, 1], ["NET", 4, 1]]

    # Stock arrives; a mop-up event serves owed lines only.
    receive(users["admin"], world.points["NYA"], world.items["BLK"], 10, _grant())
    receive(users["admin"], world.points["NYA"], world.items["NET"], 10, _grant())
    receive(users["admin"], world.points["NYA"], world.items["JRC"], 10, _grant())
    mop_up = services.event_create(cycle=world.cycle, site=world.sites["NYA"], name="Mop-up", date=today, lanes=1,
                                   user=users["admin"], team=[users["distribution"]], owed_only=True)
    services.event_open(event=mop_up, user=users["admin"])
    mop_up.refresh_from_db()
    assert {i.item.code: i.planned for i in mop_up.items.select_related("item")} == {"BLK": 4, "NET": 4, "JRC": 1}
    # Household 1 is owed its jerrycan only: its declined blankets are not served again.
    assert selectors.event_manifest(mop_up)["cards"][world.cards[1].serial]["e"] == [["JRC", 1, 1]]
    assert [e["item"] for e in services.scan_verify(code=world.code(1), event=mop_up).entitlements] == ["JRC"]
    served = redeem(world, 0, event=mop_up)
    assert served.verdict == "redeemed"
    assert {ln["item"]: ln["qty"] for ln in served.redemption["lines"]} == {"BLK": 4, "NET": 4}
    assert owed(world, 0) == {}
    assert services.scan_verify(code=world.code(0), event=mop_up).verdict == "already_collected"
    assert list(RedemptionLine.objects.filter(entitlement__household=world.households[0], item__code="BLK")
                .order_by("handover_no").values_list("handover_no", "qty_handed")) == [(1, 1), (2, 4)]
    assert [o["item"] for o in selectors.event_progress(mop_up)["owed"]] == ["Jerrycan 20 L"]
    assert checks.run() == []


@pytest.mark.django_db
def test_a_mop_up_refuses_households_with_only_open_lines(users):
    world = build_world(users, households=2, stock=50, sizes=(2, 2))
    today = timezone.localdate()
    mop_up = services.event_create(cycle=world.cycle, site=world.sites["NYA"], name="Mop-up", date=today, lanes=1,
                                   user=users["admin"], owed_only=True)
    services.event_open(event=mop_up, user=users["admin"])
    mop_up.refresh_from_db()
    verdict = services.scan_verify(code=world.code(0), event=mop_up)
    assert verdict.verdict == "not_entitled" and "owed items only" in verdict.message
    assert redeem(world, 0, event=mop_up).verdict == "not_entitled"
    assert not RedemptionLine.objects.exists()


def _grant():
    from relief.inventory.models import Grant

    return Grant.objects.get(code="ECHO-2026-01")
