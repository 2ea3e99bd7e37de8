"""Reads for shelter pages, API and reports: the waiting list and its ranks, the planner's input,
occupancy per block, the site map, plan review. Only numbers and household numbers: no names."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

import numpy as np
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.models import Block, Site
from relief.households.selectors import consent_q, households_visible
from relief.shelter import planner
from relief.shelter.models import (
    Allocation,
    AllocationPlan,
    LandUse,
    Plot,
    PlotStatus,
    WaitingEntry,
    WaitingStatus,
)
from relief.shelter.rules import SPHERE_M2_PER_PERSON, Priority, priority, space_needed

# relief.households: HouseholdStatus.ACTIVE
HOUSEHOLD_ACTIVE = "active"


def household_fresh(household):
    """The household as stored now (its status and size may have changed since it was read)."""
    return households_visible(None).get(pk=household.pk)


def households_by_id(ids: list[int]) -> dict:
    return {h.pk: h for h in households_visible(None).filter(pk__in=ids)}


def households_needing_access(ids: list[int]) -> set[int]:
    """Households with an active member with a disability: they need an accessible plot."""
    return set(households_visible(None).filter(pk__in=ids, members__active=True, members__has_disability=True)
               .values_list("pk", flat=True).distinct())


def household_needs_access(household) -> bool:
    return bool(households_needing_access([household.pk]))


def _village_key(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass
class WaitingRow:
    entry_id: int
    household_id: int
    number: str
    size: int
    reason: str
    since: datetime
    days: int
    needs_access: bool
    female_headed: bool
    village: str
    priority: Priority
    rank: int = 0
    # The household consented to shelter allocation; the planner leaves out those who did not.
    shelter_consent: bool = True


def waiting_rows(*, site: Site, today: datetime | None = None) -> list[WaitingRow]:
    """The site's waiting list, ranked: priority points first, then first come first served."""
    now = today or timezone.now()
    entries = WaitingEntry.objects.filter(site=site, status=WaitingStatus.WAITING, household__status=HOUSEHOLD_ACTIVE)
    access_ids = set(households_visible(None).filter(
        waiting_entries__site=site, waiting_entries__status=WaitingStatus.WAITING, members__active=True,
        members__has_disability=True).values_list("pk", flat=True).distinct())
    consented = set(entries.filter(consent_q("shelter", prefix="household__")).values_list("household_id", flat=True))
    rows = []
    for values in entries.values("pk", "household_id", "household__number", "household__size", "reason", "since",
                                 "household__female_headed", "household__child_headed",
                                 "household__older_person_headed", "household__origin_village"):
        days = max((now - values["since"]).days, 0)
        needs_access = values["household_id"] in access_ids
        rows.append(WaitingRow(
            entry_id=values["pk"], household_id=values["household_id"], number=values["household__number"],
            size=values["household__size"], reason=values["reason"], since=values["since"], days=days,
            needs_access=needs_access, female_headed=values["household__female_headed"],
            village=values["household__origin_village"],
            priority=priority(child_headed=values["household__child_headed"], disability=needs_access,
                              female_headed=values["household__female_headed"],
                              older_person_headed=values["household__older_person_headed"],
                              size=values["household__size"], waiting_days=days),
            shelter_consent=values["household_id"] in consented,
        ))
    rows.sort(key=lambda r: (-r.priority.points, r.since, r.entry_id))
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
    return rows


@dataclass
class PlanningProblem:
    entry_ids: list[int]
    household_ids: list[int]
    plot_ids: np.ndarray
    households: planner.Households
    plots: planner.Plots
    present: np.ndarray


def planning_problem(*, site: Site, today: datetime | None = None) -> PlanningProblem:
    """The planner's arrays for a site, households in waiting-list order; a household that did not consent to
    shelter allocation is left out (the waiting list says so)."""
    rows = [r for r in waiting_rows(site=site, today=today) if r.shelter_consent]
    blocks = {pk: i for i, pk in enumerate(Block.objects.filter(site=site).order_by("code").values_list("pk",
                                                                                                        flat=True))}
    villages: dict[str, int] = {}

    def village_code(name: str) -> int:
        key = _village_key(name or "")
        return villages.setdefault(key, len(villages)) if key else -1

    households = planner.Households(
        size=np.array([r.size for r in rows], dtype=np.int64),
        needs_access=np.array([r.needs_access for r in rows], dtype=bool),
        female_headed=np.array([r.female_headed for r in rows], dtype=bool),
        village=np.array([village_code(r.village) for r in rows], dtype=np.int64),
        priority=np.array([r.priority.points for r in rows], dtype=np.float64),
    )
    plot_rows = list(Plot.objects.filter(site=site, land_use=LandUse.RESIDENTIAL, status=PlotStatus.VACANT)
                     .order_by("block__code", "code")
                     .values_list("pk", "block_id", "covered_m2", "accessible", "near_lighting", "near_latrine"))
    plots = planner.Plots(
        block=np.array([blocks[r[1]] for r in plot_rows], dtype=np.int64),
        covered=np.array([float(r[2]) for r in plot_rows], dtype=np.float64),
        accessible=np.array([r[3] for r in plot_rows], dtype=bool),
        near_lighting=np.array([r[4] for r in plot_rows], dtype=bool),
        near_latrine=np.array([r[5] for r in plot_rows], dtype=bool),
        allocatable=np.ones(len(plot_rows), dtype=bool),
    )
    living = list(Allocation.objects.filter(plot__site=site, ended_at__isnull=True)
                  .values_list("household__origin_village", "plot__block_id"))
    present = np.zeros((max(len(villages), 1), max(len(blocks), 1)), dtype=np.int64)
    for name, block_id in living:
        key = _village_key(name or "")
        if key in villages:
            present[villages[key], blocks[block_id]] += 1
    return PlanningProblem(
        entry_ids=[r.entry_id for r in rows], household_ids=[r.household_id for r in rows],
        plot_ids=np.array([r[0] for r in plot_rows], dtype=np.int64), households=households, plots=plots,
        present=present,
    )


def occupancy(*, site: Site) -> dict:
    """Per block and for the site: plots by status, households, people, covered m² per person, over capacity."""
    blocks = {b.pk: {"block": b, "vacant": 0, "allocated": 0, "unusable": 0, "reserved": 0, "households": 0,
                     "people": 0, "covered": 0.0, "over_capacity": 0, "vulnerable": 0}
              for b in Block.objects.filter(site=site).order_by("code")}
    for row in Plot.objects.filter(site=site).values("block_id", "status", "land_use").annotate(n=Count("pk")):
        key = "reserved" if row["land_use"] != LandUse.RESIDENTIAL else row["status"]
        blocks[row["block_id"]][key] += row["n"]
    active = Allocation.objects.filter(plot__site=site, ended_at__isnull=True)
    for row in active.values("plot__block_id").annotate(
            households=Count("pk"), people=Sum("household__size"), covered=Sum("plot__covered_m2"),
            over_capacity=Count("pk", filter=Q(plot__covered_m2__lt=F("household__size") * SPHERE_M2_PER_PERSON)),
            vulnerable=Count("pk", filter=Q(household__female_headed=True) | Q(household__child_headed=True)
                             | Q(household__older_person_headed=True))):
        target = blocks[row["plot__block_id"]]
        target.update(households=row["households"], people=row["people"] or 0, covered=float(row["covered"] or 0),
                      over_capacity=row["over_capacity"], vulnerable=row["vulnerable"])
    total = {k: 0 for k in ("vacant", "allocated", "unusable", "reserved", "households", "people", "over_capacity",
                            "vulnerable")}
    total["covered"] = 0.0
    for row in blocks.values():
        row["per_person"] = round(row["covered"] / row["people"], 1) if row["people"] else None
        row["plots"] = row["vacant"] + row["allocated"] + row["unusable"] + row["reserved"]
        for key in total:
            total[key] += row[key]
    total["per_person"] = round(total["covered"] / total["people"], 1) if total["people"] else None
    total["plots"] = total["vacant"] + total["allocated"] + total["unusable"] + total["reserved"]
    waiting = WaitingEntry.objects.filter(site=site, status=WaitingStatus.WAITING).count()
    return {"site": site, "blocks": list(blocks.values()), "total": total, "waiting": waiting}


# Map colours: status first; an allocated plot of a vulnerable household stands out, and one whose
# shelter is below the Sphere minimum is outlined in red.
MAP_STYLE = """
.sm-p{stroke:#555;stroke-width:.3}.sm-vacant{fill:#c8e6c9}.sm-allocated{fill:#64b5f6}.sm-vulnerable{fill:#ffb74d}
.sm-unusable{fill:#9e9e9e}.sm-firebreak,.sm-road{fill:#d7ccc8}.sm-services{fill:#b3e5fc}
.sm-over{stroke:#c62828;stroke-width:1.2}
.sm-b{font:bold 9px sans-serif;fill:#333;paint-order:stroke;stroke:#fff;stroke-width:2px}
.sm-legend{font:8px sans-serif;fill:#333}
"""
METRES_PER_DEGREE = 111_320.0


def site_map_svg(*, site: Site) -> str:
    """The site drawn from plot coordinates as a standalone SVG: no tiles, no internet needed."""
    # Unordered, unjoined reads: at 30,000 plots the sort and the join cost more than the drawing.
    plots = list(Plot.objects.filter(site=site, latitude__isnull=False, longitude__isnull=False).order_by()
                 .values_list("pk", "code", "latitude", "longitude", "area_m2", "status", "land_use", "polygon",
                              "block_id"))
    if not plots:
        return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 40"><text x="10" y="24">'
                + escape(_("No plot of this site has coordinates yet.")) + "</text></svg>")
    block_codes = dict(Block.objects.filter(site=site).values_list("pk", "code"))
    vulnerable, over = set(), set()
    for plot_id, size, female, child, older, covered in (
            Allocation.objects.filter(plot__site=site, ended_at__isnull=True).order_by()
            .values_list("plot_id", "household__size", "household__female_headed", "household__child_headed",
                         "household__older_person_headed", "plot__covered_m2")):
        if female or child or older:
            vulnerable.add(plot_id)
        if float(covered) < size * SPHERE_M2_PER_PERSON:
            over.add(plot_id)
    vulnerable |= set(households_visible(None).filter(
        allocations__plot__site=site, allocations__ended_at__isnull=True, members__active=True,
        members__has_disability=True).order_by().values_list("allocations__plot_id", flat=True))
    lat0 = float(sum(float(p[2]) for p in plots) / len(plots))
    lon0 = float(sum(float(p[3]) for p in plots) / len(plots))
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))

    def xy(lat, lon) -> tuple[float, float]:
        return (float(lon) - lon0) * kx, (lat0 - float(lat)) * METRES_PER_DEGREE

    shapes = []
    xs, ys = [], []
    block_points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    labels = {s.value: str(s.label) for s in PlotStatus}
    for pk, code, lat, lon, area, status, land_use, polygon, block_id in plots:
        x, y = xy(lat, lon)
        block_points[block_codes[block_id]].append((x, y))
        if land_use != LandUse.RESIDENTIAL:
            css = f"sm-{land_use}"
        elif status == PlotStatus.ALLOCATED and pk in vulnerable:
            css = "sm-vulnerable"
        else:
            css = f"sm-{status}"
        if pk in over:
            css += " sm-over"
        title = f"<title>{escape(code)} {escape(labels[status])}</title>"
        if polygon:
            points = [xy(a, b) for a, b in polygon]
            xs.extend(px for px, _py in points)
            ys.extend(py for _px, py in points)
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            shapes.append(f'<polygon class="sm-p {css}" points="{path}">{title}</polygon>')
        else:
            half = math.sqrt(float(area or 0) or 100.0) / 2
            xs.extend((x - half, x + half))
            ys.extend((y - half, y + half))
            shapes.append(f'<rect class="sm-p {css}" x="{x - half:.1f}" y="{y - half:.1f}" width="{2 * half:.1f}" '
                          f'height="{2 * half:.1f}">{title}</rect>')
    for code, points in sorted(block_points.items()):
        bx = sum(p[0] for p in points) / len(points)
        by = sum(p[1] for p in points) / len(points)
        shapes.append(f'<text class="sm-b" x="{bx:.1f}" y="{by:.1f}" text-anchor="middle">{escape(code)}</text>')
    pad = 12.0
    left, top = min(xs) - pad, min(ys) - pad
    width, height = max(xs) - left + pad, max(ys) - top + pad + 24
    legend = []
    items = [("sm-vacant", _("Vacant")), ("sm-allocated", _("Allocated")),
             ("sm-vulnerable", _("Allocated, vulnerable")), ("sm-unusable", _("Unusable")),
             ("sm-firebreak", _("Reserved land")), ("sm-services", _("Services")),
             ("sm-allocated sm-over", _("Below 3.5 m² per person"))]
    step = max(width / len(items), 95.0)
    width = max(width, step * len(items) + 2 * pad)
    for i, (css, text) in enumerate(items):
        lx, ly = left + pad + i * step, top + height - 14
        legend.append(f'<rect class="sm-p {css}" x="{lx:.1f}" y="{ly:.1f}" width="8" height="8"/>'
                      f'<text class="sm-legend" x="{lx + 11:.1f}" y="{ly + 7:.1f}">{escape(str(text))}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:.1f} {top:.1f} {width:.1f} {height:.1f}" '
            f'role="img" aria-label="{escape(site.name)}"><style>{MAP_STYLE}</style>'
            + "".join(shapes) + "".join(legend) + "</svg>")


def plan_reasons(*, line, plot, household_row: dict) -> list[str]:
    """Why the planner chose this plot, in words, from the line's points."""
    parts = line.components or {}
    reasons = []
    if line.edited:
        reasons.append(_("plot chosen by the officer"))
    if plot is None:
        return [*reasons, _("no vacant plot meets the hard rules (needs %(need)s m² covered%(access)s)") % {
            "need": f"{space_needed(household_row['size']):.1f}",
            "access": _(", accessible") if household_row["needs_access"] else ""}]
    need = space_needed(household_row["size"])
    reasons.append(_("%(covered)s m² covered for %(size)s people (needs %(need)s)") % {
        "covered": plot.covered_m2, "size": household_row["size"], "need": f"{need:.1f}"})
    if parts.get("village"):
        reasons.append(_("block %(block)s has households from the same village") % {"block": plot.block.code})
    if parts.get("safety"):
        reasons.append(_("female-headed: near %(what)s") % {"what": " + ".join(
            w for w, on in ((_("lighting"), plot.near_lighting), (_("latrines"), plot.near_latrine)) if on)})
    if household_row["needs_access"]:
        reasons.append(_("member with a disability: accessible plot") + (
            _(", near latrines and water") if parts.get("services") else ""))
    return reasons


def plan_lines(*, plan: AllocationPlan, unplaced_only: bool = False, offset: int = 0, limit: int = 200) -> dict:
    """A page of a plan's lines for review: household number and size, plot, points and reasons."""
    lines = plan.lines.select_related("plot__block", "household", "entry").order_by("line_no")
    if unplaced_only:
        lines = lines.filter(plot__isnull=True)
    count = lines.count()
    page = list(lines[offset:offset + limit])
    access_ids = households_needing_access([line.household_id for line in page])
    rows = []
    for line in page:
        household = line.household
        info = {"size": household.size, "needs_access": household.pk in access_ids}
        rows.append({
            "line": line, "household": household, "plot": line.plot, "entry": line.entry,
            "priority": priority(child_headed=household.child_headed, disability=info["needs_access"],
                                 female_headed=household.female_headed,
                                 older_person_headed=household.older_person_headed, size=household.size,
                                 waiting_days=max((plan.created_at - line.entry.since).days, 0)),
            "reasons": plan_reasons(line=line, plot=line.plot, household_row=info),
        })
    placed = plan.lines.filter(plot__isnull=False).count()
    return {"rows": rows, "count": count, "placed": placed, "total": plan.lines.count(), "offset": offset,
            "limit": limit}


def plot_history(*, plot: Plot) -> list[Allocation]:
    return list(plot.allocations.select_related("household", "started_by", "ended_by").order_by("-started_at"))


def household_card_sections(household) -> list[dict]:
    """The shelter part of the household card: its plot, and its place on the waiting list."""
    rows = []
    current = Allocation.objects.filter(household_id=household.pk, ended_at__isnull=True).select_related(
        "plot__block", "plot__site").first()
    if current is not None:
        plot = current.plot
        rows.append((_("Plot"), f"{plot.site.code} {plot.code} ({current.number})"))
        rows.append((_("Covered area"), _("%(covered)s m² for %(size)s people") % {
            "covered": plot.covered_m2, "size": household.size}))
    else:
        rows.append((_("Plot"), _("none")))
    entry = WaitingEntry.objects.filter(household_id=household.pk, status=WaitingStatus.WAITING).first()
    if entry is not None:
        rows.append((_("Waiting list"), _("%(reason)s since %(day)s") % {
            "reason": entry.get_reason_display(), "day": f"{entry.since:%Y-%m-%d}"}))
    return [{"title": _("Shelter"), "rows": rows}]
