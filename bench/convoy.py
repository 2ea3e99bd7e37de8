"""A convoy manifest of 5,000 households processed end to end (target: under 60 s).

Each household holds what a real one does: an active card, open entitlements of a submitted cycle with
their stock reserved at the distribution point, and (two in five) a plot. A round reads the CSV manifest,
checks every row and carries the convoy out in ``valid`` mode (``relief.households.convoy.run_convoy``):
households departed, allocations ended and plots freed, cards revoked, entitlements cancelled, reservations
released, every change with its history row.

The raw database work of the same round, timed in the same run on the next group of households: the same
rows changed by plain UPDATEs (households, allocations, plots, cards, entitlements, bins, reservations) in one
transaction, rolled back. Rounds alternate raw and convoy; the figures are medians of ``ROUNDS`` rounds, with
the load average since the machine is shared.

    .venv/bin/python bench/convoy.py [HOUSEHOLDS_PER_ROUND] [ROUNDS]
"""

from __future__ import annotations

import csv
import datetime
import os
import statistics
import sys
import time

from _site import bench_database, demo_camps, drop_database

NAME = "bench_relief_convoy"


def setup(total: int):
    from django.db import transaction
    from django.utils import timezone

    from relief.core import signing
    from relief.core.services import document_submit
    from relief.distribution import services as distribution
    from relief.distribution.models import CycleSite, DistributionCycle, EntitlementRule
    from relief.households import demo
    from relief.households.importer import Mapping, files_dir, run_import
    from relief.households.models import Household
    from relief.inventory import services as inventory
    from relief.inventory.models import Donor, Grant, Item, Warehouse
    from relief.shelter.models import Allocation, Plot

    signing.key_create()
    sites = demo_camps()
    path = demo.write_kobo_export(files_dir() / "bench.xlsx", demo.generate(total, seed=2026))
    result = run_import(path=path, mapping=Mapping.load("kobo_example"), user=None, site_ids=None, mode="all")
    assert result.committed, result.problems[:5]
    households = list(Household.objects.order_by("pk"))
    distribution.cards_issue(households=households, user=None)
    grant = Grant.objects.create(donor=Donor.objects.create(code="ECHO", name="ECHO"), code="ECHO-2026-01")
    items = [Item.objects.create(code=code, name=name) for code, name in
             (("BLK", "Blanket"), ("NET", "Mosquito net"), ("JRC", "Jerrycan"))]
    today = timezone.localdate()
    cycle = DistributionCycle.objects.create(name="Bench", period_start=today,
                                             period_end=today + datetime.timedelta(days=30))
    for site in sites:
        point = Warehouse.objects.create(code=f"{site.code}-DP", name=f"{site.code} point", site=site,
                                         kind=Warehouse.Kind.DISTRIBUTION_POINT)
        entry = inventory.stock_entry_create(entry_type="receipt", user=None, grant=grant.code, lines=[
            inventory.LineData(item=item.code, qty=10 * total, target=point.code) for item in items])
        document_submit(document=entry, user=None)
        CycleSite.objects.create(cycle=cycle, site=site, warehouse=point)
    EntitlementRule.objects.create(cycle=cycle, item=items[0], per_member_qty=1, member_cap=5)
    EntitlementRule.objects.create(cycle=cycle, item=items[1], per_member_qty="0.5")
    EntitlementRule.objects.create(cycle=cycle, item=items[2], base_qty=1)
    document_submit(document=cycle, user=None)
    # Two households in five live on a plot (set up directly: the bench measures the convoy, not allocation).
    housed = households[::5] + households[1::5]
    blocks = {}
    from relief.core.models import Block

    for block in Block.objects.all():
        blocks.setdefault(block.site_id, block)
    with transaction.atomic():
        plots = Plot.objects.bulk_create([
            Plot(site_id=h.site_id, block=blocks[h.site_id], code=f"P-{h.pk}", area_m2=80, covered_m2=21,
                 status="allocated") for h in housed], batch_size=2000)
        Allocation.objects.bulk_create([
            Allocation(number=f"ALC-B-{h.pk}", plot=plot, household=h) for h, plot in zip(housed, plots, strict=True)
        ], batch_size=2000)
    return households


def write_manifest(path, households) -> None:
    day = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()  # noqa: DTZ011 - a calendar day
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["household", "date", "reason", "note"])
        for household in households:
            writer.writerow([household.number, day, "returned", "bench convoy"])


def raw_round(households) -> float:
    """The same rows changed with plain UPDATEs, in one transaction rolled back."""
    from django.db import connection, transaction

    ids = [h.pk for h in households]
    marks = ", ".join(["%s"] * len(ids))
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"SELECT id FROM households_household WHERE id IN ({marks}) FOR UPDATE", ids)
        cursor.execute(f"UPDATE households_household SET status='departed', exit_reason='returned', "
                       f"exit_date=CURRENT_DATE WHERE id IN ({marks})", ids)
        cursor.execute(f"UPDATE shelter_plot SET status='vacant' WHERE id IN (SELECT plot_id FROM "
                       f"shelter_allocation WHERE ended_at IS NULL AND household_id IN ({marks}))", ids)
        cursor.execute(f"UPDATE shelter_allocation SET ended_at=NOW(), end_reason='returned' WHERE ended_at IS NULL "
                       f"AND household_id IN ({marks})", ids)
        cursor.execute(f"UPDATE distribution_card SET status='revoked', status_changed_at=NOW() "
                       f"WHERE status='active' AND household_id IN ({marks})", ids)
        cursor.execute(f"UPDATE distribution_entitlement SET status='cancelled' WHERE status IN ('open', 'owed') "
                       f"AND household_id IN ({marks})", ids)
        # The reservations and bins of the three items at each point, lowered once each.
        cursor.execute("UPDATE inventory_reservation SET qty = GREATEST(qty - 1, 0)")
        cursor.execute("UPDATE inventory_bin SET reserved = GREATEST(reserved - 1, 0)")
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main(per_round: int, rounds: int) -> None:
    scratch = bench_database(NAME)
    from relief.households.convoy import run_convoy

    started = time.perf_counter()
    households = setup(per_round * rounds)
    print(f"setup: {len(households)} households with cards, entitlements, reservations, "
          f"{len(households) * 2 // 5} plots in {time.perf_counter() - started:.0f} s")
    groups = [households[n * per_round:(n + 1) * per_round] for n in range(rounds)]
    convoy_times, raw_times, loads = [], [], []
    for n, group in enumerate(groups):
        raw_times.append(raw_round(group))
        path = scratch / f"convoy-{n}.csv"
        write_manifest(path, group)
        loads.append(os.getloadavg()[0])
        begun = time.perf_counter()
        result = run_convoy(path=path, user=None, site_ids=None, mode="valid")
        convoy_times.append(time.perf_counter() - begun)
        assert result.committed and result.processed == len(group), result.problems[:5]
        print(f"round {n + 1}: raw {raw_times[-1]:.2f} s, convoy {convoy_times[-1]:.1f} s "
              f"({len(group) / convoy_times[-1]:,.0f} households/s), load {loads[-1]:.2f}")
    convoy_median, raw_median = statistics.median(convoy_times), statistics.median(raw_times)
    print(f"convoy of {per_round} households: {convoy_median:.1f} s median of {rounds} rounds "
          f"(target < 60 s); raw database work {raw_median:.2f} s; convoy / raw = {convoy_median / raw_median:.1f}x; "
          f"load average {statistics.median(loads):.2f}")
    from relief.core.checks import run_integrity_checks

    problems = run_integrity_checks()
    print(f"relief check after the convoys: {len(problems)} problems {problems[:3]}")
    drop_database(NAME)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
