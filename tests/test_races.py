"""Each pair of conflicting services, raced from threads on MariaDB, invariants checked after every round
(harness: tests/races.py). Rounds are bounded by count; RELIEF_RACE_ROUNDS scales them."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import F, Sum

from relief.core.documents import DocStatus
from relief.core.services import document_submit
from relief.distribution import checks as distribution_checks
from relief.distribution import services as distribution
from relief.distribution.models import COLLECTABLE, Card, CardStatus, Entitlement, EntitlementStatus, Redemption
from relief.households import services as households
from relief.households.models import HouseholdStatus
from relief.inventory import checks as inventory_checks
from relief.inventory import services as inventory
from relief.inventory.models import (
    Bin,
    Item,
    Lot,
    StockEntry,
    StockEntryLine,
    StockLedgerEntry,
    Warehouse,
)
from relief.inventory.services import LineData
from relief.shelter import checks as shelter_checks
from relief.shelter import services as shelter
from relief.shelter.models import Allocation
from tests.builders import (
    build_distribution_world,
    draft_stock_entry,
    make_household,
    make_plot,
    receive,
    register_household,
    stock_world,
)
from tests.races import race, rounds, run_threads, stall_before_write, wait_until

pytestmark = pytest.mark.skipif(connection.vendor != "mysql", reason="row locks are MariaDB's")


def _camp():
    from relief.core.demo import demo_sites

    return next(s for s in demo_sites() if s.code == "NYA")


def _active_allocations(household) -> int:
    return Allocation.objects.filter(household=household, ended_at__isnull=True).count()


# --- shelter: merge racing allocation and its end ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_merge_racing_the_end_of_the_merged_households_allocation(users):
    user = users["registrar"]

    def setup(n):
        survivor, merged = make_household(user), make_household(user)
        allocation = shelter.plot_allocate(user=user, plot=make_plot(_camp()), household=merged)
        return survivor, merged, allocation

    def actions(world):
        survivor, merged, allocation = world
        return [lambda: households.household_merge(user=user, survivor=survivor, merged=merged),
                lambda: shelter.allocation_end(user=user, allocation=allocation, reason="error")]

    def invariants(world):
        survivor, merged, _allocation = world
        problems = shelter_checks.run()
        if _active_allocations(merged):
            problems.append("the merged household is still housed")
        return problems

    tally = race(rounds=rounds(12), setup=setup, actions=actions, invariants=invariants)
    assert tally.failures == [], tally


@pytest.mark.django_db(transaction=True)
def test_a_merge_that_read_the_allocation_before_its_end_committed(users):
    """Deterministic: the end of the merged household's allocation holds its locks and stalls before writing;
    the merge starts then. Before the fix the merge read the allocation as active, waited for the plot, and
    then moved an ended allocation onto a plot the end had just marked vacant."""
    user = users["registrar"]
    survivor, merged = make_household(user), make_household(user)
    allocation = shelter.plot_allocate(user=user, plot=make_plot(_camp()), household=merged)
    reached, never = threading.Event(), threading.Event()

    def end():
        with stall_before_write(Allocation, release=never, reached=reached, timeout=3):
            return shelter.allocation_end(user=user, allocation=allocation, reason="error")

    def merge():
        reached.wait(10)
        return households.household_merge(user=user, survivor=survivor, merged=merged)

    results = run_threads([end, merge])
    assert not any(isinstance(r, Exception) for r in results), results
    assert shelter_checks.run() == []
    assert _active_allocations(merged) == 0


@pytest.mark.django_db(transaction=True)
def test_merge_racing_an_allocation_of_the_merged_household(users):
    user = users["registrar"]

    def setup(n):
        return make_household(user), make_household(user), make_plot(_camp())

    def actions(world):
        survivor, merged, plot = world
        return [lambda: households.household_merge(user=user, survivor=survivor, merged=merged),
                lambda: shelter.plot_allocate(user=user, plot=plot, household=merged)]

    def invariants(world):
        survivor, merged, plot = world
        problems = shelter_checks.run()
        merged.refresh_from_db()
        if merged.status == HouseholdStatus.MERGED and _active_allocations(merged):
            problems.append("a merged household keeps an active allocation")
        if _active_allocations(survivor) > 1:
            problems.append("the survivor has two plots")
        return problems

    tally = race(rounds=rounds(12), setup=setup, actions=actions, invariants=invariants)
    assert tally.failures == [], tally


# --- distribution: regeneration, merge, redeem, revoke --------------------------------------------------------


def _distribution_invariants(world, merged=()) -> list[str]:
    """relief check's distribution and inventory invariants (a merged household keeps nothing to collect and no
    active card; reservations never exceed what is still to collect), and the merged households named."""
    problems = distribution_checks.run() + inventory_checks.run()
    for household in merged:
        household.refresh_from_db()
        if household.status != HouseholdStatus.MERGED:
            continue
        if Entitlement.objects.filter(household=household, status__in=COLLECTABLE).exists():
            problems.append(f"merged household {household.number} has entitlements to collect")
        if Card.objects.filter(household=household, status=CardStatus.ACTIVE).exists():
            problems.append(f"merged household {household.number} has an active card")
    return problems


def _register_pair(world):
    admin, camp = world.users["admin"], world.sites["NYA"]
    pair = [register_household(admin, camp, size=3), register_household(admin, camp, size=2)]
    distribution.cards_issue(households=pair, user=admin)
    return pair


@pytest.mark.django_db(transaction=True)
def test_regeneration_racing_a_merge_gives_the_merged_household_nothing(users):
    world = build_distribution_world(users)
    admin = world.users["admin"]

    def setup(n):
        survivor, merged = _register_pair(world)
        digest = distribution.cycle_generation_plan(cycle=world.cycle).digest
        return survivor, merged, digest

    def actions(pair):
        survivor, merged, digest = pair
        return [lambda: distribution.cycle_generate(cycle=world.cycle, user=admin, digest=digest),
                lambda: households.household_merge(user=admin, survivor=survivor, merged=merged)]

    tally = race(rounds=rounds(10), setup=setup, actions=actions,
                 invariants=lambda pair: _distribution_invariants(world, merged=[pair[1]]))
    assert tally.failures == [], tally


@pytest.mark.django_db(transaction=True)
def test_a_merge_between_the_regenerations_plan_and_its_commit_is_seen(users):
    """Deterministic: the merge commits after the regeneration read its plan and before it applies it."""
    world = build_distribution_world(users)
    admin = world.users["admin"]
    survivor, merged = _register_pair(world)
    digest = distribution.cycle_generation_plan(cycle=world.cycle).digest
    planned, merge_done = threading.Event(), threading.Event()
    original = distribution.cycle_generation_plan

    def plan_then_wait(*, cycle):
        plan = original(cycle=cycle)
        if threading.current_thread().name == "regenerate":
            planned.set()
            merge_done.wait(5)
        return plan

    def regenerate():
        threading.current_thread().name = "regenerate"
        return distribution.cycle_generate(cycle=world.cycle, user=admin, digest=digest)

    def merge():
        planned.wait(10)
        try:
            return households.household_merge(user=admin, survivor=survivor, merged=merged)
        finally:
            merge_done.set()

    with mock.patch.object(distribution, "cycle_generation_plan", plan_then_wait):
        results = run_threads([regenerate, merge])
    assert not any(isinstance(r, Exception) for r in results), results
    assert _distribution_invariants(world, merged=[merged]) == []


@pytest.mark.django_db(transaction=True)
def test_regeneration_racing_a_redeem_never_alters_the_hand_over(users):
    world = build_distribution_world(users)
    admin = world.users["admin"]

    def setup(n):
        (household, _other) = _register_pair(world)
        distribution.cycle_generate(cycle=world.cycle, user=admin,
                                    digest=distribution.cycle_generation_plan(cycle=world.cycle).digest)
        households.member_add(user=admin, household=household, fields={
            "given_name": f"New{n}", "family_name": "Niyonzima", "sex": "f", "date_of_birth": "2020-01-01",
            "relationship": "child"})
        card = Card.objects.get(household=household, status=CardStatus.ACTIVE)
        return household, card, distribution.cycle_generation_plan(cycle=world.cycle).digest, n

    def actions(w):
        household, card, digest, n = w
        return [lambda: distribution.cycle_generate(cycle=world.cycle, user=admin, digest=digest),
                lambda: distribution.redemption_record(code=card.code, event=world.event, client_id=f"regen-{n}",
                                                       user=admin)]

    def invariants(w):
        household = w[0]
        problems = _distribution_invariants(world)
        altered = Entitlement.objects.filter(household=household, status=EntitlementStatus.REDEEMED) \
            .exclude(qty=F("redemption_lines__qty_entitled")).count()
        if altered:
            problems.append(f"{altered} redeemed entitlement(s) changed after the hand-over")
        return problems

    tally = race(rounds=rounds(8), setup=setup, actions=actions, invariants=invariants)
    assert tally.failures == [], tally


@pytest.mark.django_db(transaction=True)
def test_card_revoked_racing_a_redeem(users):
    world = build_distribution_world(users)
    admin = world.users["admin"]

    def setup(n):
        household, _other = _register_pair(world)
        distribution.cycle_generate(cycle=world.cycle, user=admin,
                                    digest=distribution.cycle_generation_plan(cycle=world.cycle).digest)
        return Card.objects.get(household=household, status=CardStatus.ACTIVE), n

    def actions(w):
        card, n = w
        return [lambda: distribution.card_revoke(card=card, user=admin, note="lost"),
                lambda: distribution.redemption_record(code=card.code, event=world.event, client_id=f"revoke-{n}",
                                                       user=admin)]

    def invariants(w):
        card = w[0]
        problems = _distribution_invariants(world)
        card.refresh_from_db()
        if Redemption.objects.filter(card=card, recorded_at__gt=card.status_changed_at).exists():
            problems.append(f"card {card.serial} redeemed after it was revoked")
        return problems

    tally = race(rounds=rounds(10), setup=setup, actions=actions, invariants=invariants)
    assert tally.failures == [], tally


# --- documents: a draft save or a line edit racing a submit ---------------------------------------------------


def _posted(entry) -> int:
    return -(StockLedgerEntry.objects.filter(voucher_no=entry.number).aggregate(q=Sum("qty"))["q"] or 0)


@pytest.mark.django_db(transaction=True)
def test_desk_style_draft_saves_and_line_edits_racing_submits(admin_user):
    stock = stock_world()
    receive(admin_user, stock.main, stock.blanket, 10_000)

    def setup(n):
        entry = draft_stock_entry(admin_user, "issue", [LineData(item="BLK", qty=5, source="KGM")],
                                  purpose="distribution")
        form = StockEntry.objects.get(pk=entry.pk)
        form.remarks = f"desk edit {n}"
        line = StockEntryLine.objects.get(entry=entry)
        line.qty = 9
        return entry, form, line

    def actions(w):
        entry, form, line = w
        return [form.save, line.save, lambda: document_submit(document=entry, user=admin_user)]

    def invariants(w):
        entry = StockEntry.objects.get(pk=w[0].pk)
        problems = inventory_checks.run()
        if entry.status != DocStatus.SUBMITTED:
            problems.append(f"{entry.number} is {entry.status} after its submit")
        if _posted(entry) != sum(entry.lines.values_list("qty", flat=True)):
            problems.append(f"{entry.number}: posted {_posted(entry)}, lines say otherwise")
        return problems

    tally = race(rounds=rounds(16), setup=setup, actions=actions, invariants=invariants)
    assert tally.failures == [], tally


# --- bins: one lock order ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_bins_are_locked_in_item_warehouse_lot_order(admin_user):
    """Deterministic: with bin B held elsewhere, a posting that needs A and B must already hold A (item order),
    whatever index or row order the database would scan in."""
    stock = stock_world()
    # B = (soap, main) exists first and main sorts first; A = (blanket, camp) sorts first by item.
    receive(admin_user, stock.main, stock.soap, 10)
    receive(admin_user, stock.camp, stock.blanket, 10)
    # A warehouse's worth of empty bins, so the optimizer finds the (warehouse, item) index worth scanning.
    items = Item.objects.bulk_create([Item(code=f"FILL-{n}", name=f"Filler {n}") for n in range(40)])
    lots = Lot.objects.bulk_create([Lot(code=f"FILL-LOT-{item.code}", item=item) for item in items])
    places = [stock.main, stock.camp] + Warehouse.objects.bulk_create(
        [Warehouse(code=f"FILL-W{n}", name=f"Filler {n}") for n in range(3)])
    Bin.objects.bulk_create([Bin(item=lot.item, warehouse=place, lot=lot) for lot in lots for place in places])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE TABLE {Bin._meta.db_table}")
        cursor.fetchall()
    bin_a = Bin.objects.get(item=stock.blanket, warehouse=stock.camp)
    bin_b = Bin.objects.get(item=stock.soap, warehouse=stock.main)
    held, release = threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            list(Bin.objects.filter(pk=bin_b.pk).select_for_update())
            held.set()
            release.wait(20)

    poster_connection = None

    def poster():
        nonlocal poster_connection
        held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID()")
            poster_connection = cursor.fetchone()[0]
        with transaction.atomic():
            inventory._lock_bins({(stock.blanket.pk, stock.camp.pk), (stock.soap.pk, stock.main.pk)})

    def probe():
        held.wait(10)

        def waiting():
            with connection.cursor() as cursor:
                # Still inside its locking statement after half a second: waiting for a row lock.
                cursor.execute("SELECT COUNT(*) FROM information_schema.processlist WHERE id = %s "
                               "AND info LIKE '%%FOR UPDATE%%' AND time_ms > 500", [poster_connection])
                return cursor.fetchone()[0] > 0

        try:
            if not wait_until(waiting):
                return "the posting never waited for bin B"
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"SELECT id FROM {Bin._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT",
                                   [bin_a.pk])
                return "A was free"
            except OperationalError as exc:
                return f"A was held: {exc}"
        finally:
            release.set()

    results = run_threads([holder, poster, probe])
    assert results[2].startswith("A was held"), results
