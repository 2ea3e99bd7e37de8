"""Demo shelter data: plots laid out block by block around each camp, most households settled by an
"initial settlement" plan submitted through the real path, new arrivals waiting for a plot.

Each block is a grid of 10 × 10 m plots with 2 m between shelters: a firebreak row across the
middle (reserved land), a services plot (latrines and water point) near the centre, solar
lighting along the main path, the flattest rows accessible, a few plots flooded (unusable).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from relief.core.models import Block, Site
from relief.core.services import document_submit
from relief.households.selectors import households_visible
from relief.shelter.models import (
    AllocationPlan,
    AllocationPlanLine,
    LandUse,
    Plot,
    PlotStatus,
    ShelterType,
    WaitingEntry,
    WaitingReason,
)
from relief.shelter.rules import space_needed
from relief.shelter.selectors import households_needing_access

CELL_M = 12.0  # 10 m plot + 2 m between structures
ROAD_M = 24.0
METRES_PER_DEGREE = 111_320.0
# Covered area of each shelter kind (m²) and how common it is among built plots.
SHELTERS = [(ShelterType.EMERGENCY_TENT, "16.0", 30), (ShelterType.TRANSITIONAL, "21.0", 35),
            (ShelterType.MUD_BRICK, "24.5", 18), (ShelterType.MUD_BRICK, "28.0", 10),
            (ShelterType.MUD_BRICK, "35.0", 5), (ShelterType.MUD_BRICK, "42.0", 2)]
NEW_ARRIVALS = 0.12  # the newest households of each camp are still waiting for a plot
MIN_PLOTS_PER_BLOCK = 80


def _block_plots(site: Site, block: Block, *, index: int, count: int, rng: random.Random) -> list[Plot]:
    columns = max(8, math.ceil(math.sqrt(count * 1.3)))
    rows = math.ceil(count / columns) + 1  # one firebreak row
    origin_x = (index % 4 - 2) * (columns * CELL_M + ROAD_M)
    origin_y = (index // 4 - 1.5) * ((rows + 1) * CELL_M + ROAD_M)
    lat0, lon0 = float(site.latitude or 0), float(site.longitude or 0)
    per_lon = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    firebreak = rows // 2
    services_cell = (firebreak + 1, columns // 2)
    plots = []
    for row in range(rows):
        for column in range(columns):
            x, y = origin_x + column * CELL_M, origin_y + row * CELL_M
            land_use = LandUse.RESIDENTIAL
            if row == firebreak:
                land_use = LandUse.FIREBREAK
            elif (row, column) == services_cell:
                land_use = LandUse.SERVICES
            kind, covered, _weight = rng.choices(SHELTERS, [w for *_k, w in SHELTERS])[0]
            if land_use != LandUse.RESIDENTIAL:
                kind, covered = ShelterType.NONE, "0.0"
            near_services = abs(row - services_cell[0]) <= 2 and abs(column - services_cell[1]) <= 3
            plots.append(Plot(
                site=site, block=block, code=f"{block.code}-{row + 1:02d}{column + 1:02d}", land_use=land_use,
                area_m2=Decimal("100.0"), covered_m2=Decimal(covered), shelter_type=kind,
                accessible=row >= rows - 2, near_latrine=near_services,
                near_lighting=near_services or column == columns // 2 or row in (firebreak - 1, firebreak + 1),
                latitude=Decimal(f"{lat0 - y / METRES_PER_DEGREE:.6f}"),
                longitude=Decimal(f"{lon0 + x / per_lon:.6f}"),
            ))
    return plots


def _fits(plot: Plot, size: int, needs_access: bool) -> bool:
    return float(plot.covered_m2) >= space_needed(size) and (plot.accessible or not needs_access)


def load_site(*, site: Site, user, rng: random.Random) -> tuple[int, int, int]:
    households = list(households_visible({site.pk}).filter(status="active", allocations__isnull=True)
                      .order_by("registered_on", "number").values_list("pk", "size", "block_id", "registered_on"))
    needs_access = households_needing_access([h[0] for h in households])
    blocks = list(Block.objects.filter(site=site).order_by("code"))
    per_block = {b.pk: 0 for b in blocks}
    for _pk, _size, block_id, _day in households:
        if block_id in per_block:
            per_block[block_id] += 1
    with transaction.atomic():
        plots = []
        for index, block in enumerate(blocks):
            if not Plot.objects.filter(block=block).exists():
                wanted = max(MIN_PLOTS_PER_BLOCK, math.ceil(per_block[block.pk] * 1.3))
                plots.extend(_block_plots(site, block, index=index, count=wanted, rng=rng))
        bulk_create_with_history(plots, Plot, batch_size=2000, default_user=user)
        vacant = list(Plot.objects.filter(site=site, land_use=LandUse.RESIDENTIAL, status=PlotStatus.VACANT)
                      .order_by("covered_m2", "code"))
        settle = len(households) - round(len(households) * NEW_ARRIVALS)
        by_block: dict[int, list[Plot]] = {}
        for plot in vacant:
            by_block.setdefault(plot.block_id, []).append(plot)
        taken: set[int] = set()
        pairs, waiting = [], []
        for pk, size, block_id, day in households[:settle]:
            access = pk in needs_access
            # The smallest shelter that fits, in the household's own block if there is one.
            plot = next((p for p in by_block.get(block_id, []) if p.pk not in taken and _fits(p, size, access)), None)
            plot = plot or next((p for p in vacant if p.pk not in taken and _fits(p, size, access)), None)
            if plot is None:
                waiting.append((pk, day))
                continue
            taken.add(plot.pk)
            pairs.append((pk, plot, day))
        waiting.extend((pk, day) for pk, _size, _block, day in households[settle:])

        def since(day) -> datetime:
            return timezone.make_aware(datetime.combine(day, time(9)))

        entries = [WaitingEntry(site=site, household_id=pk, reason=WaitingReason.NEW_ARRIVAL, since=since(day),
                                created_by=user) for pk, _plot, day in pairs]
        bulk_create_with_history(entries, WaitingEntry, batch_size=2000, default_user=user)
        if pairs:
            plan = AllocationPlan(site=site, created_by=user, weights={}, waiting_count=len(pairs),
                                  vacant_count=len(vacant))
            plan._history_user = user
            plan.save()
            entry_of = {e.household_id: e.pk for e in WaitingEntry.objects.filter(
                site=site, status="waiting", household_id__in=[p[0] for p in pairs])}
            lines = [AllocationPlanLine(plan=plan, line_no=n, rank=n, entry_id=entry_of[pk], household_id=pk,
                                        plot=plot) for n, (pk, plot, _day) in enumerate(pairs, start=1)]
            bulk_create_with_history(lines, AllocationPlanLine, batch_size=2000, default_user=user)
            document_submit(document=plan, user=user)
        arrivals = [WaitingEntry(site=site, household_id=pk, reason=WaitingReason.NEW_ARRIVAL, since=since(day),
                                 created_by=user, note="new arrival, transit centre") for pk, day in waiting]
        bulk_create_with_history(arrivals, WaitingEntry, batch_size=2000, default_user=user)
        flooded = [p for p in vacant if p.pk not in taken and rng.random() < 0.04]
        for plot in flooded:
            plot.status, plot.note = PlotStatus.UNUSABLE, "flooded in the rains"
        bulk_update_with_history(flooded, Plot, ["status", "note"], batch_size=2000, default_user=user)
    return len(plots), len(pairs), len(waiting)


def load(*, households: int, stdout) -> None:
    user = get_user_model().objects.filter(username="admin").first()
    rng = random.Random(6)
    for site in Site.objects.filter(code__in=["NYA", "NDU", "MTE"]).order_by("code"):
        plots, settled, waiting = load_site(site=site, user=user, rng=rng)
        stdout.write(f"demo: shelter {site.code}: {plots} plots, {settled} households settled, {waiting} waiting")
