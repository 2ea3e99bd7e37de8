"""Cycle generation (reproducible, shows its difference, reserves stock) and event close-out."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from relief.distribution import services
from relief.distribution.models import Entitlement, EntitlementRule
from relief.households.services import household_set_status
from relief.inventory.models import Reservation, StockLedgerEntry
from tests.distribution.conftest import register


def reserved(world, item, site="NYA"):
    return sum(Reservation.objects.filter(bin__warehouse=world.points[site], bin__item=world.items[item],
                                          reference=world.cycle.reservation_reference(site))
               .values_list("qty", flat=True))


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 30), base=st.integers(0, 3), per_member=st.sampled_from(["0", "0.25", "0.5", "1", "2"]),
       cap=st.one_of(st.none(), st.integers(1, 8)), max_qty=st.one_of(st.none(), st.integers(0, 10)),
       rounding=st.sampled_from(["up", "down", "nearest"]))
def test_rule_quantity_is_rounded_capped_and_monotonic(size, base, per_member, cap, max_qty, rounding):
    rule = EntitlementRule(base_qty=base, per_member_qty=per_member, member_cap=cap, max_qty=max_qty,
                           rounding=rounding)
    qty = rule.quantity_for(size)
    assert qty >= 0
    assert qty <= rule.quantity_for(size + 1)
    if max_qty is not None:
        assert qty <= max_qty
    if cap is not None:
        assert qty == rule.quantity_for(max(size, cap)) or size < cap


@pytest.mark.smoke
@pytest.mark.django_db
def test_generation_is_reproducible_and_reserves_the_open_entitlements(world):
    # 4 NYA households of sizes 1, 2, 5, 7: blankets min(size, 5) = 13; nets ceil(size/2) = 1+1+3+4 = 9.
    assert reserved(world, "BLK") == 13 and reserved(world, "NET") == 9 and reserved(world, "JRC") == 4
    assert services.cycle_generation_plan(cycle=world.cycle).is_empty


@pytest.mark.django_db
def test_regeneration_shows_the_difference_then_applies_exactly_it(world, users):
    admin = users["admin"]
    newcomer = register(admin, world.sites["NYA"], size=4)
    # A departure cancels what the household had at once (the lifecycle carries it); a newcomer waits for the
    # regeneration, which shows the difference first.
    household_set_status(user=admin, household=world.households[0], status="departed")
    assert Entitlement.objects.filter(household=world.households[0], status="cancelled").count() == 3
    plan = services.cycle_generation_plan(cycle=world.cycle)
    assert plan.summary() == {"add": 3, "change": 0, "reopen": 0, "cancel": 0}
    assert plan.by_item[world.items["BLK"].pk] == {"add": 4, "change": 0, "reopen": 0, "cancel": 0}
    # Nothing changes until the user confirms; a stale confirmation is refused.
    assert not Entitlement.objects.filter(household=newcomer).exists()
    with pytest.raises(ValidationError):
        services.cycle_generate(cycle=world.cycle, user=admin, digest="0" * 64)
    services.cycle_generate(cycle=world.cycle, user=admin, digest=plan.digest)
    assert Entitlement.objects.filter(household=newcomer, status="open").count() == 3
    assert Entitlement.objects.filter(household=world.households[0], status="cancelled").count() == 3
    assert reserved(world, "BLK") == 13 - 1 + 4
    assert services.cycle_generation_plan(cycle=world.cycle).is_empty
    # The household comes back: its entitlements reopen rather than duplicate.
    household_set_status(user=admin, household=world.households[0], status="active")
    plan = services.cycle_generation_plan(cycle=world.cycle)
    assert plan.summary()["reopen"] == 3
    services.cycle_generate(cycle=world.cycle, user=admin, digest=plan.digest)
    assert Entitlement.objects.filter(household=world.households[0], status="open").count() == 3


@pytest.mark.django_db
def test_collected_entitlements_never_change_on_regeneration(world, users):
    services.redemption_record(code=world.code(1), event=world.event, client_id="c1", user=users["distribution"])
    household_set_status(user=users["admin"], household=world.households[1], status="departed")
    plan = services.cycle_generation_plan(cycle=world.cycle)
    assert plan.is_empty


@pytest.mark.django_db
def test_close_out_refuses_an_unexplained_difference_then_closes(world, users):
    admin = users["admin"]
    services.redemption_record(code=world.code(2), event=world.event, client_id="c1", user=users["distribution"])
    # Size 5 took 5 blankets, 3 nets, 1 jerrycan: the books leave 495, 497 and 499 at the point.
    counts = [services.CloseOutCount(item="BLK", counted=494),
              services.CloseOutCount(item="NET", counted=497),
              services.CloseOutCount(item="JRC", counted=498)]
    with pytest.raises(ValidationError) as caught:
        services.event_close(event=world.event, counts=counts, user=admin)
    problems = caught.value.message_dict
    assert set(problems) == {"BLK", "JRC"}
    assert "1 missing by the books" in problems["BLK"][0]
    world.event.refresh_from_db()
    assert world.event.status == "open"
    counts[0] = services.CloseOutCount(item="BLK", counted=495)
    counts[2] = services.CloseOutCount(item="JRC", counted=498, note="cracked in transport")
    services.event_close(event=world.event, counts=counts, user=admin)
    world.event.refresh_from_db()
    assert world.event.status == "closed"
    assert reserved(world, "BLK") == 0
    loss = StockLedgerEntry.objects.get(voucher_type="distribution_loss", voucher_no=world.event.number)
    assert loss.qty == -1 and loss.item == world.items["JRC"]
    # Reopening for a mop-up is a new event; the no-shows are reserved again when it opens.
    mop_up = services.event_create(cycle=world.cycle, site=world.sites["NYA"], name="Mop-up", date=world.event.date,
                                   lanes=1, user=admin)
    services.event_open(event=mop_up, user=admin)
    assert reserved(world, "BLK") == 13 - 5


@pytest.mark.django_db
def test_merge_revokes_the_merged_households_card(world, users):
    from relief.households.services import household_merge

    household_merge(user=users["admin"], survivor=world.households[2], merged=world.households[3])
    assert services.scan_verify(code=world.code(3), event=world.event).verdict == "revoked"
    assert not Entitlement.objects.filter(household=world.households[3], status="open").exists()
