"""Benchmark: a replenishment plan for 50 warehouses × 300 items × 10 upcoming events (target < 5 s).

Builds a fresh MariaDB database (BENCH_DB_URL to change) with one main warehouse, 9 field warehouses
and 40 distribution points joined by roads, 300 items with two lots each in every warehouse, reorder
levels at the field warehouses, 10 events with open entitlements for every item, goods in the pipeline.
Prints the time to read the inputs (the raw database work), to solve, and to save the draft plan.
"""

from __future__ import annotations

import datetime
import random
import statistics
import time

from _site import bench_database, demo_camps, drop_database

NAME = "bench_replenishment"


def build() -> None:
    from django.db import transaction
    from django.utils import timezone

    from relief.core.models import Site
    from relief.distribution.models import (
        CycleSite,
        DistributionCycle,
        DistributionEvent,
        Entitlement,
        EntitlementRule,
    )
    from relief.households.models import Household
    from relief.inventory.models import Bin, Donor, Grant, Item, Lot, ReorderLevel, Warehouse
    from relief.replenishment.models import Pipeline, PipelineLine, Route, Truck

    rng = random.Random(7)
    today = timezone.localdate()
    sites = list(Site.objects.order_by("code"))
    with transaction.atomic():
        main = Warehouse.objects.create(code="MAIN", name="Main", kind=Warehouse.Kind.MAIN)
        fields = [Warehouse.objects.create(code=f"FW{n:02d}", name=f"Field {n}", kind=Warehouse.Kind.FIELD,
                                           site=sites[n % 3]) for n in range(9)]
        points = [Warehouse.objects.create(code=f"DP{n:02d}", name=f"Point {n}", kind=Warehouse.Kind.DISTRIBUTION_POINT,
                                           site=fields[n % 9].site, parent=fields[n % 9]) for n in range(40)]
        warehouses = [main, *fields, *points]
        routes = [Route(origin=main, destination=f, distance_km=rng.randint(100, 300), lead_days=rng.randint(1, 3))
                  for f in fields]
        routes += [Route(origin=fields[n % 9], destination=p, distance_km=rng.randint(3, 40), lead_days=1)
                   for n, p in enumerate(points)]
        routes += [Route(origin=fields[n], destination=fields[n + 1], distance_km=rng.randint(50, 150), lead_days=2)
                   for n in range(8)]
        Route.objects.bulk_create(routes)
        Truck.objects.create(name="10 t", capacity_kg=10000, capacity_m3=40, cost_per_km=2, is_default=True)
        items = Item.objects.bulk_create([
            Item(code=f"IT{n:03d}", name=f"Item {n}", category=["nfi", "wash", "shelter"][n % 3],
                 weight_kg=rng.choice(["0.3", "0.65", "1.5", "4.6", "5.5"]),
                 volume_m3=rng.choice(["0.001", "0.003", "0.006", "0.03"]), tracks_expiry=n % 10 == 0)
            for n in range(300)])
        grant = Grant.objects.create(donor=Donor.objects.create(code="ECHO", name="ECHO"), code="ECHO-1")
        lots, bins = [], []
        for w in warehouses:
            for item in items:
                for k in range(2):
                    lots.append(Lot(code=f"L-{w.code}-{item.code}-{k}", item=item, grant=grant,
                                    expiry=today + datetime.timedelta(days=rng.randint(5, 900))
                                    if item.tracks_expiry else None))
        Lot.objects.bulk_create(lots, batch_size=5000)
        for lot in Lot.objects.select_related("item").iterator(chunk_size=5000):
            code = lot.code.split("-")[1]
            w = next(x for x in warehouses if x.code == code)
            # Points hold stock only where an event is coming (every fourth point); the rest are empty.
            if w.kind == Warehouse.Kind.DISTRIBUTION_POINT and int(w.code[2:]) % 4:
                continue
            qty = rng.randint(0, 400 if w is main else 60)
            bins.append(Bin(item_id=lot.item_id, warehouse=w, lot=lot, on_hand=qty, reserved=0))
        Bin.objects.bulk_create(bins, batch_size=5000)
        ReorderLevel.objects.bulk_create([ReorderLevel(item=i, warehouse=f, min_qty=20, max_qty=80)
                                          for f in fields for i in items], batch_size=5000)
        pipeline = Pipeline.objects.create(donor=grant.donor, grant=grant, status="submitted")
        PipelineLine.objects.bulk_create([PipelineLine(pipeline=pipeline, item=i, qty=500, warehouse=main,
                                                       expected_on=today + datetime.timedelta(days=rng.randint(3, 30)))
                                          for i in items[::3]])
        households = Household.objects.bulk_create([
            Household(number=f"HH-B-{n:04d}", site=sites[n % 3], registered_on=today, consent_given_by="x",
                      consent_purposes="assistance",
                      consent_date=today, size=5) for n in range(10)])
        for n in range(10):
            cycle = DistributionCycle.objects.create(name=f"Round {n}", period_start=today,
                                                     period_end=today + datetime.timedelta(days=40))
            point = points[n * 4]
            CycleSite.objects.create(cycle=cycle, site=point.site, warehouse=point)
            EntitlementRule.objects.create(cycle=cycle, item=items[0], base_qty=1)
            DistributionCycle.objects.filter(pk=cycle.pk).update(status="submitted")
            DistributionEvent.objects.create(number=f"EV-B-{n}", name=f"Event {n}", cycle=cycle, site=point.site,
                                             distribution_point=point, date=today + datetime.timedelta(days=5 + 2 * n))
            house = next(h for h in households if h.site_id == point.site_id)
            Entitlement.objects.bulk_create([Entitlement(cycle=cycle, household=house, item=i, site=point.site,
                                                         qty=rng.randint(50, 400)) for i in items])


def main() -> None:
    bench_database(NAME)
    demo_camps()
    try:
        build()
        from relief.replenishment import selectors, services

        truck = selectors.default_truck()
        today = datetime.date.today()  # noqa: DTZ011 - the benchmark's calendar day
        end = today + datetime.timedelta(days=42)
        reads, totals, saves = [], [], []
        for _ in range(3):
            started = time.perf_counter()
            inp = selectors.plan_input(today=today, horizon_end=end, truck=truck)
            reads.append(time.perf_counter() - started)
            started = time.perf_counter()
            _inp, result = services.plan_compute(horizon_days=42)
            totals.append(time.perf_counter() - started)
            started = time.perf_counter()
            plan = services.plan_create(user=None, horizon_days=42)
            saves.append(time.perf_counter() - started)
        read, total, saved = statistics.median(reads), statistics.median(totals), statistics.median(saves)
        kinds = plan.summary["lines"]
        print(f"plan for 50 warehouses × 300 items × 10 events: {len(inp.demands)} demands, {len(inp.supplies)} "
              f"supplies → {len(result.lines)} lines ({kinds})")
        print(f"  read inputs (raw DB work): {read * 1000:.0f} ms")
        print(f"  read + solve:              {total * 1000:.0f} ms  (solve {1000 * (total - read):.0f} ms)")
        print(f"  read + solve + save draft: {saved * 1000:.0f} ms  ratio to raw DB work {saved / read:.1f}×; "
              f"target < 5000 ms: {'OK' if saved < 5 else 'MISSED'}")
    finally:
        drop_database(NAME)


if __name__ == "__main__":
    main()
