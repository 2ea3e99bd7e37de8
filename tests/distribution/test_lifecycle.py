"""Households move on: leaving, transfer and reactivation carry the plot, card, entitlements and stock with them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from relief.core.checks import run_integrity_checks
from relief.distribution import selectors, services
from relief.distribution.models import Card, Entitlement
from relief.households import services as household_services
from relief.households.models import Household
from relief.inventory.models import Reservation
from relief.shelter import services as shelter_services
from relief.shelter.models import Allocation, WaitingEntry
from tests.shelter.conftest import make_plot


def reserved(world, item, site="NYA"):
    return sum(Reservation.objects.filter(bin__warehouse=world.points[site], bin__item=world.items[item],
                                          reference=world.cycle.reservation_reference(site))
               .values_list("qty", flat=True))


def leftovers() -> list[str]:
    return [p for p in run_integrity_checks() if "not active" in p]


@pytest.mark.django_db
def test_a_departure_ends_everything_the_household_holds(world, users):
    admin = users["admin"]
    leaving, waiting = world.households[2], world.households[3]  # sizes 5 and 7 at NYA
    plot = make_plot(world.sites["NYA"])
    allocation = shelter_services.plot_allocate(user=admin, plot=plot, household=leaving)
    shelter_services.waiting_add(user=admin, household=waiting)
    card = Card.objects.get(household=leaving, status="active")
    assert reserved(world, "BLK") == 13 and reserved(world, "NET") == 9 and reserved(world, "JRC") == 4

    household_services.households_leave(user=admin, households=[leaving, waiting], reason="returned",
                                        note="convoy 12")

    leaving.refresh_from_db()
    assert (leaving.status, leaving.exit_reason) == ("departed", "returned")
    allocation.refresh_from_db()
    plot.refresh_from_db()
    assert allocation.end_reason == "returned" and allocation.ended_by == admin and plot.status == "vacant"
    assert WaitingEntry.objects.get(household=waiting).status == "withdrawn"
    card.refresh_from_db()
    assert card.status == "revoked"
    assert set(Entitlement.objects.filter(household__in=[leaving, waiting]).values_list("status", flat=True)) \
        == {"cancelled"}
    # Their stock is released: blankets 13 − 5 − 5, nets 9 − 3 − 4, jerrycans 4 − 2.
    assert (reserved(world, "BLK"), reserved(world, "NET"), reserved(world, "JRC")) == (3, 2, 2)
    assert leftovers() == []
    # The card scans as revoked, online and in the offline manifest.
    assert services.scan_verify(code=card.code, event=world.event).verdict == "revoked"
    manifest = selectors.event_manifest(world.event)
    assert card.serial in manifest["revoked"] and card.serial not in manifest["cards"]
    # Leaving twice is refused, named.
    with pytest.raises(ValidationError, match=leaving.number):
        household_services.households_leave(user=admin, households=[leaving], reason="departed")


@pytest.mark.django_db
def test_check_reports_what_a_household_that_left_still_holds(world, users):
    # A status written around the services (as an old import or a hand edit would) leaves the card behind.
    household = world.households[1]
    Household.objects.filter(pk=household.pk).update(status="departed")
    found = leftovers()
    assert f"household {household.number}: not active but holds an active card" in found
    assert f"household {household.number}: not active but has entitlements still to collect" in found


@pytest.mark.django_db
def test_death_of_the_last_member_and_a_household_still_large_is_refused(world, users):
    admin = users["admin"]
    alone, family = world.households[0], world.households[2]  # sizes 1 and 5
    with pytest.raises(ValidationError, match="still has 5 active members"):
        household_services.households_leave(user=admin, households=[alone, family], reason="deceased")
    assert Household.objects.get(pk=alone.pk).status == "active"  # all or nothing
    household_services.households_leave(user=admin, households=[alone], reason="deceased")
    alone.refresh_from_db()
    assert (alone.status, alone.size, alone.members.filter(active=True).count()) == ("inactive", 0, 0)
    assert not Card.objects.filter(household=alone, status="active").exists()
    assert leftovers() == []


@pytest.mark.django_db
def test_a_transfer_moves_card_and_entitlements_and_the_household_waits_there(world, users):
    admin = users["admin"]
    moving = world.households[1]  # size 2 at NYA; the cycle serves NDU too
    plot = make_plot(world.sites["NYA"])
    shelter_services.plot_allocate(user=admin, plot=plot, household=moving)
    old = Card.objects.get(household=moving, status="active")
    household_services.household_transfer(user=admin, household=moving, site=world.sites["NDU"])
    old.refresh_from_db()
    new = Card.objects.get(household=moving, status="active")
    assert old.status == "replaced" and new.serial.startswith("NDU-") and new.generation == old.generation + 1
    assert set(Entitlement.objects.filter(household=moving).values_list("site__code", "status")) == {("NDU", "open")}
    assert Allocation.objects.get(household=moving, plot=plot).end_reason == "transferred"
    assert WaitingEntry.objects.get(household=moving, status="waiting").site.code == "NDU"
    # The old site's scanners refuse the old card, offline too; the new one collects at the new site only.
    assert services.scan_verify(code=old.code, event=world.event).verdict == "revoked"
    assert old.serial in selectors.event_manifest(world.event)["revoked"]
    assert services.scan_verify(code=new.code, event=world.event).verdict == "wrong_event"
    assert reserved(world, "BLK") == 13 - 2
    assert leftovers() == []


@pytest.mark.django_db
def test_reactivation_gives_a_new_card_and_a_place_on_the_waiting_list(world, users):
    admin = users["admin"]
    household = world.households[2]
    household_services.household_set_status(user=admin, household=household, status="departed")
    assert not Card.objects.filter(household=household, status="active").exists()
    household_services.household_set_status(user=admin, household=household, status="active")
    household.refresh_from_db()
    assert household.status == "active" and household.exit_reason == ""
    assert Card.objects.filter(household=household, status="active").count() == 1
    assert WaitingEntry.objects.filter(household=household, status="waiting").exists()
    # Its entitlements come back through regeneration, shown first.
    plan = services.cycle_generation_plan(cycle=world.cycle)
    assert plan.summary()["reopen"] == 3
    assert leftovers() == []
