"""Benchmark: the allocation planner on 30,000 waiting households × 32,000 plots, and the occupancy
page of a site of 30,000 plots.

1. The planner on arrays (time, peak memory): targets < 10 s and < 2 GB.
2. ``plan_create`` on MariaDB for the same sizes (read the waiting list and plots, solve, write the
   draft's 30,000 lines), next to the raw database work of the same reads and inserts.
3. The occupancy page (table + inline SVG map) of that site, next to the raw queries it runs:
   target < 300 ms.

Run: ``.venv/bin/python bench/planner.py`` (a scratch MariaDB database ``bench_shelter`` is created
and dropped; BENCH_KEEP=1 keeps it).
"""

from __future__ import annotations

import math
import os
import resource
import statistics
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from _site import bench_database, drop_database

NAME = "bench_shelter"
HOUSEHOLDS, PLOTS, BLOCKS, VILLAGES = 30_000, 32_000, 100, 600


def arrays(rng: np.random.Generator):
    from relief.shelter.planner import Households, Plots

    households = Households(
        size=np.clip(rng.poisson(3.3, HOUSEHOLDS) + 1, 1, 14),
        needs_access=rng.random(HOUSEHOLDS) < 0.06,
        female_headed=rng.random(HOUSEHOLDS) < 0.3,
        village=rng.integers(-1, VILLAGES, HOUSEHOLDS),
        priority=rng.integers(0, 12, HOUSEHOLDS).astype(np.float64),
    )
    plots = Plots(
        block=np.sort(rng.integers(0, BLOCKS, PLOTS)),
        covered=rng.choice([16.0, 21.0, 24.5, 28.0, 35.0, 42.0], PLOTS, p=[.3, .35, .18, .1, .05, .02]),
        accessible=rng.random(PLOTS) < 0.15,
        near_lighting=rng.random(PLOTS) < 0.3,
        near_latrine=rng.random(PLOTS) < 0.35,
        allocatable=rng.random(PLOTS) < 0.95,
    )
    present = rng.integers(0, 4, (VILLAGES, BLOCKS)) * (rng.random((VILLAGES, BLOCKS)) < 0.05)
    return households, plots, present


def bench_arrays() -> None:
    from scipy.optimize import linear_sum_assignment

    from relief.shelter.planner import plan

    households, plots, present = arrays(np.random.default_rng(7))
    tracemalloc.start()
    started = time.perf_counter()
    result = plan(households, plots, present=present)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    placed = int((result.plot >= 0).sum())
    # The raw work it is made of: one exact assignment of a block-sized problem, times the blocks.
    block = np.random.default_rng(1).random((HOUSEHOLDS // BLOCKS, PLOTS // BLOCKS))
    started = time.perf_counter()
    linear_sum_assignment(block, maximize=True)
    one = time.perf_counter() - started
    print(f"planner on arrays: {HOUSEHOLDS:,} households × {PLOTS:,} plots ({BLOCKS} blocks): "
          f"{seconds:.2f} s, peak {peak / 2**20:.0f} MiB traced (process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB); {placed:,} placed; "
          f"ratio to {BLOCKS} bare block assignments ({BLOCKS * one:.2f} s): {seconds / (BLOCKS * one):.1f}×")


def fill(site, rng: np.random.Generator, *, households: int, plots: int, allocate: int) -> None:
    """Bulk rows, as a migration from another system would load them (the services are timed elsewhere)."""
    from django.utils import timezone

    from relief.core.models import Block
    from relief.households.models import Household
    from relief.shelter.models import Allocation, Plot, PlotStatus, WaitingEntry

    blocks = [Block.objects.get_or_create(site=site, code=f"S{n:03d}")[0] for n in range(BLOCKS)]
    per_row = math.ceil(math.sqrt(plots))
    plot_rows = [Plot(site=site, block=blocks[i * BLOCKS // plots], code=f"P{i:06d}", area_m2=Decimal("100.0"),
                      covered_m2=Decimal(str(rng.choice([16.0, 21.0, 24.5, 28.0, 35.0])), ),
                      accessible=bool(rng.random() < 0.15), near_lighting=bool(rng.random() < 0.3),
                      near_latrine=bool(rng.random() < 0.35),
                      latitude=Decimal(f"{-4.2 - (i // per_row) * 12 / 111320:.6f}"),
                      longitude=Decimal(f"{30.38 + (i % per_row) * 12 / 111000:.6f}")) for i in range(plots)]
    Plot.objects.bulk_create(plot_rows, batch_size=5000)
    today = date(2026, 11, 1)
    rows = [Household(number=f"HH-{site.code}-{i:06d}", site=site, registered_on=today - timedelta(days=i % 900),
                      size=int(min(rng.poisson(2.5) + 1, 7)), female_headed=bool(rng.random() < 0.3),
                      child_headed=bool(rng.random() < 0.01), origin_village=f"Village {rng.integers(0, VILLAGES)}",
                      consent_given_by="head", consent_date=today, consent_purposes="registration shelter")
            for i in range(households)]
    Household.objects.bulk_create(rows, batch_size=5000)
    ids = list(Household.objects.filter(site=site).order_by("pk").values_list("pk", flat=True))
    plot_ids = list(Plot.objects.filter(site=site).order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    Allocation.objects.bulk_create([Allocation(number=f"B-{site.code}-{i}", plot_id=plot_ids[i], household_id=ids[i],
                                               started_at=now) for i in range(allocate)], batch_size=5000)
    Plot.objects.filter(pk__in=plot_ids[:allocate]).update(status=PlotStatus.ALLOCATED)
    WaitingEntry.objects.bulk_create([WaitingEntry(site=site, household_id=pk, since=now - timedelta(days=i % 200))
                                      for i, pk in enumerate(ids[allocate:])], batch_size=5000)


def bench_plan_create() -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from relief.core.models import Site
    from relief.shelter import selectors, services
    from relief.shelter.models import AllocationPlan, AllocationPlanLine, WaitingEntry

    site = Site.objects.create(code="BIG", name="Bench camp", latitude=Decimal("-4.2"), longitude=Decimal("30.38"))
    fill(site, np.random.default_rng(3), households=HOUSEHOLDS, plots=PLOTS, allocate=0)
    user = User.objects.create_superuser("bench", password="bench-pass-123")
    started = time.perf_counter()
    plan = services.plan_create(user=user, site=site)
    seconds = time.perf_counter() - started
    placed = plan.lines.filter(plot__isnull=False).count()
    # Raw: the same reads, and the same number of line rows inserted into a scratch plan (rolled back).
    started = time.perf_counter()
    selectors.planning_problem(site=site)
    entries = list(WaitingEntry.objects.filter(site=site).values_list("pk", "household_id")[:HOUSEHOLDS])
    with transaction.atomic():
        scratch = AllocationPlan.objects.create(site=site)
        AllocationPlanLine.objects.bulk_create([AllocationPlanLine(plan=scratch, line_no=n, rank=n,
                                                                   entry_id=e, household_id=h)
                                                for n, (e, h) in enumerate(entries, start=1)], batch_size=2000)
        transaction.set_rollback(True)
    raw = time.perf_counter() - started
    print(f"plan_create on MariaDB: {HOUSEHOLDS:,} waiting × {PLOTS:,} plots: {seconds:.2f} s "
          f"(solver {plan.solve_seconds:.2f} s), {placed:,} placed; raw reads + line inserts {raw:.2f} s; "
          f"ratio {seconds / raw:.1f}×")
    connection.close()


def bench_occupancy() -> None:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from relief.core.models import Site

    site = Site.objects.create(code="OCC", name="Occupancy camp", latitude=Decimal("-4.2"),
                               longitude=Decimal("30.38"))
    fill(site, np.random.default_rng(5), households=26_000, plots=30_000, allocate=25_000)
    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.get(username="bench"))
    client.get("/shelter/OCC/")  # warm: templates, translations
    times, map_times = [], []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get("/shelter/OCC/")
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        svg = client.get("/shelter/OCC/map.svg")
        map_times.append(time.perf_counter() - started)
    assert response.status_code == 200 and svg.status_code == 200, (response.status_code, svg.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get("/shelter/OCC/")
    sqls = [q["sql"] for q in queries.captured_queries]
    raw = []
    for _ in range(5):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in sqls:
                cursor.execute(sql)
                cursor.fetchall()
        raw.append(time.perf_counter() - started)
    page, base = statistics.median(times), statistics.median(raw)
    if os.environ.get("BENCH_VERBOSE"):
        for q in queries.captured_queries:
            print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:160]}")
    print(f"occupancy page, 30,000 plots / 25,000 households: median {page * 1000:.0f} ms over 5; its "
          f"{len(sqls)} queries raw {base * 1000:.0f} ms; ratio {page / base:.1f}×")
    print(f"site map SVG it loads ({len(svg.content) / 2**20:.1f} MiB): median "
          f"{statistics.median(map_times) * 1000:.0f} ms")


def main() -> None:
    bench_database(NAME)
    try:
        bench_arrays()
        bench_plan_create()
        bench_occupancy()
    finally:
        drop_database(NAME)


if __name__ == "__main__":
    main()
