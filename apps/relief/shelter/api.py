"""Shelter API: occupancy, plots, allocations and relocations, the waiting list, allocation plans.

Everything is scoped to the caller's sites. Households are named by their number in bodies, never
in URLs. Refusals: 422 naming the field, 403 out of role or site, 409 for a plan that cannot be
submitted (the line is named).
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from relief.shelter import access, selectors, services
from relief.shelter.models import AllocationPlanLine, EndReason, WaitingReason

router = Router(tags=["shelter"])


class ApiError(Schema):
    detail: str


class BlockOccupancy(Schema):
    block: str
    plots: int
    vacant: int
    allocated: int
    unusable: int
    reserved: int
    households: int
    people: int
    covered_m2_per_person: float | None
    over_capacity: int


class Occupancy(Schema):
    site: str
    waiting: int
    total: BlockOccupancy
    blocks: list[BlockOccupancy]


def _occupancy_row(name: str, row: dict) -> dict:
    return {"block": name, "plots": row["plots"], "vacant": row["vacant"], "allocated": row["allocated"],
            "unusable": row["unusable"], "reserved": row["reserved"], "households": row["households"],
            "people": row["people"], "covered_m2_per_person": row["per_person"],
            "over_capacity": row["over_capacity"]}


@router.get("/shelter/sites/{code}/occupancy", response={200: Occupancy, 403: ApiError, 404: ApiError})
def occupancy(request, code: str):
    """Plots by status, households, people, covered m² per person and households over capacity, per block."""
    site = access.site_for(request.user, code)
    data = selectors.occupancy(site=site)
    return Status(200, {"site": site.code, "waiting": data["waiting"], "total": _occupancy_row("", data["total"]),
                 "blocks": [_occupancy_row(r["block"].code, r) for r in data["blocks"]]})


class PlotOut(Schema):
    code: str
    block: str
    land_use: str
    status: str
    area_m2: float
    covered_m2: float
    shelter_type: str
    accessible: bool
    near_lighting: bool
    near_latrine: bool
    latitude: float | None
    longitude: float | None


def _plot_out(plot) -> dict:
    return {"code": plot.code, "block": plot.block.code, "land_use": plot.land_use, "status": plot.status,
            "area_m2": float(plot.area_m2), "covered_m2": float(plot.covered_m2), "shelter_type": plot.shelter_type,
            "accessible": plot.accessible, "near_lighting": plot.near_lighting, "near_latrine": plot.near_latrine,
            "latitude": float(plot.latitude) if plot.latitude is not None else None,
            "longitude": float(plot.longitude) if plot.longitude is not None else None}


@router.get("/shelter/sites/{code}/plots", response={200: list[PlotOut], 403: ApiError, 404: ApiError})
def plots(request, code: str, status: Literal["vacant", "allocated", "unusable"] | None = None,
          block: str | None = None, offset: int = Query(0, ge=0, le=10_000_000),
          limit: int = Query(500, ge=1, le=5000)):
    site = access.site_for(request.user, code)
    found = site.plots.select_related("block").order_by("code")
    if status:
        found = found.filter(status=status)
    if block:
        found = found.filter(block__code__iexact=block)
    return Status(200, [_plot_out(p) for p in found[offset:offset + limit]])


class PlotStatusIn(Schema):
    status: Literal["vacant", "unusable"]
    note: str = Field("", max_length=200)


@router.patch("/shelter/sites/{code}/plots/{plot}", response={200: PlotOut, 403: ApiError, 404: ApiError,
                                                                422: ApiError})
def plot_status(request, code: str, plot: str, payload: PlotStatusIn):
    """Mark a vacant plot unusable, or usable again."""
    site = access.site_for(request.user, code, for_write=True)
    found = access.plot_for(request.user, plot, site=site, for_write=True)
    return Status(200, _plot_out(services.plot_set_status(user=request.user, plot=found, status=payload.status,
                                                   note=payload.note)))


class AllocationOut(Schema):
    number: str
    site: str
    plot: str
    household: str
    source: str
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    end_reason: str
    overrides: list[str]


def _allocation_out(allocation) -> dict:
    return {"number": allocation.number, "site": allocation.plot.site.code, "plot": allocation.plot.code,
            "household": allocation.household.number, "source": allocation.source,
            "started_at": allocation.started_at, "ended_at": allocation.ended_at,
            "end_reason": allocation.end_reason, "overrides": allocation.overrides}


class AllocateIn(Schema):
    household: str = Field(min_length=1, max_length=20)
    site: str = Field(min_length=1, max_length=8)
    plot: str = Field(min_length=1, max_length=20)
    override_reason: str = Field("", max_length=300)


def _target(request, payload) -> tuple:
    site = access.site_for(request.user, payload.site, for_write=True)
    plot = site.plots.select_related("block", "site").filter(code__iexact=payload.plot).first()
    if plot is None:
        raise ValidationError({"plot": [_("no such plot in %(site)s") % {"site": site.code}]})
    return access.household_for(request.user, payload.household), plot


@router.post("/shelter/allocations", response={201: AllocationOut, 403: ApiError, 404: ApiError, 422: ApiError})
def allocate(request, payload: AllocateIn):
    """Give a vacant plot to a household that has none. An Administrator may override the Sphere and
    accessibility checks with ``override_reason``."""
    household, plot = _target(request, payload)
    allocation = services.plot_allocate(user=request.user, plot=plot, household=household,
                                        override_reason=payload.override_reason)
    return Status(201, _allocation_out(allocation))


class RelocateIn(AllocateIn):
    note: str = Field("", max_length=200)


@router.post("/shelter/relocations", response={201: AllocationOut, 403: ApiError, 404: ApiError, 422: ApiError})
def relocate(request, payload: RelocateIn):
    """Move a household to another plot: one transaction ends the old allocation and starts the new one."""
    household, plot = _target(request, payload)
    allocation = services.household_relocate(user=request.user, household=household, plot=plot,
                                             override_reason=payload.override_reason, note=payload.note)
    return Status(201, _allocation_out(allocation))


class EndIn(Schema):
    reason: Literal[EndReason.DEPARTED, EndReason.ERROR, EndReason.OTHER]
    note: str = Field("", max_length=200)


@router.post("/shelter/allocations/{number}/end", response={200: AllocationOut, 403: ApiError, 404: ApiError,
                                                            422: ApiError})
def end(request, number: str, payload: EndIn):
    allocation = access.allocation_for(request.user, number, for_write=True)
    ended = services.allocation_end(user=request.user, allocation=allocation, reason=payload.reason,
                                    note=payload.note)
    return Status(200, _allocation_out(access.allocation_for(request.user, ended.number)))


class WaitingOut(Schema):
    rank: int
    household: str
    size: int
    reason: str
    since: datetime.datetime
    days: int
    priority: int
    why: str


@router.get("/shelter/sites/{code}/waiting", response={200: list[WaitingOut], 403: ApiError, 404: ApiError})
def waiting(request, code: str, offset: int = Query(0, ge=0, le=10_000_000), limit: int = Query(200, ge=1, le=5000)):
    """The waiting list in rank order, with the reason for each rank."""
    site = access.site_for(request.user, code)
    rows = selectors.waiting_rows(site=site)[offset:offset + limit]
    return Status(200, [{"rank": r.rank, "household": r.number, "size": r.size, "reason": r.reason, "since": r.since,
                  "days": r.days, "priority": r.priority.points, "why": r.priority.explain()} for r in rows])


class WaitingIn(Schema):
    household: str = Field(min_length=1, max_length=20)
    reason: Literal[WaitingReason.NEW_ARRIVAL, WaitingReason.RELOCATION, WaitingReason.OVERCROWDED] = \
        WaitingReason.NEW_ARRIVAL
    note: str = Field("", max_length=200)


class WaitingCreated(Schema):
    household: str
    site: str
    reason: str
    since: datetime.datetime


@router.post("/shelter/waiting", response={201: WaitingCreated, 403: ApiError, 422: ApiError})
def waiting_add(request, payload: WaitingIn):
    household = access.household_for(request.user, payload.household)
    entry = services.waiting_add(user=request.user, household=household, reason=payload.reason, note=payload.note)
    return Status(201, {"household": household.number, "site": entry.site.code, "reason": entry.reason,
                 "since": entry.since})


class AllocationPlanIn(Schema):
    weights: dict[str, float] = {}


class PlanLineOut(Schema):
    line: int
    rank: int
    household: str
    size: int
    plot: str | None
    score: float
    components: dict[str, float]
    reasons: list[str]


class AllocationPlanOut(Schema):
    number: str
    site: str
    status: str
    weights: dict[str, float]
    waiting: int
    vacant: int
    placed: int
    lines_total: int
    solve_seconds: float
    lines: list[PlanLineOut]


def _plan_out(plan, *, offset: int = 0, limit: int = 200, unplaced: bool = False) -> dict:
    page = selectors.plan_lines(plan=plan, unplaced_only=unplaced, offset=offset, limit=limit)
    return {
        "number": plan.number, "site": plan.site.code, "status": plan.status, "weights": plan.weights,
        "waiting": plan.waiting_count, "vacant": plan.vacant_count, "placed": page["placed"],
        "lines_total": page["total"], "solve_seconds": plan.solve_seconds,
        "lines": [{"line": r["line"].line_no, "rank": r["line"].rank, "household": r["household"].number,
                   "size": r["household"].size, "plot": r["plot"].code if r["plot"] else None,
                   "score": r["line"].score, "components": r["line"].components,
                   "reasons": [str(x) for x in r["reasons"]]} for r in page["rows"]],
    }


@router.post("/shelter/sites/{code}/plans",
             response={201: AllocationPlanOut, 403: ApiError, 404: ApiError, 422: ApiError})
def plan_create(request, code: str, payload: AllocationPlanIn):
    """Run the planner over the site's waiting list; the proposal is kept as a draft plan to review."""
    site = access.site_for(request.user, code, for_write=True)
    plan = services.plan_create(user=request.user, site=site, weights=services.weights_from(payload.weights))
    return Status(201, _plan_out(plan))


@router.get("/shelter/plans/{number}", response={200: AllocationPlanOut, 403: ApiError, 404: ApiError})
def plan_get(request, number: str, offset: int = Query(0, ge=0, le=10_000_000), limit: int = Query(200, ge=1, le=5000),
             unplaced: bool = False):
    return Status(200, _plan_out(access.plan_for(request.user, number), offset=offset, limit=limit, unplaced=unplaced))


class AllocationPlanLineIn(Schema):
    plot: str | None = Field(..., max_length=20, description="plot code, or null: the household keeps waiting")


@router.patch("/shelter/plans/{number}/lines/{line_no}", response={200: PlanLineOut, 403: ApiError, 404: ApiError,
                                                                    409: ApiError, 422: ApiError})
def plan_line(request, number: str, line_no: int, payload: AllocationPlanLineIn):
    plan = access.plan_for(request.user, number, for_write=True)
    line = AllocationPlanLine.objects.filter(plan=plan, line_no=line_no).first()
    if line is None:
        return Status(404, {"detail": _("no line %(line)s in %(number)s") % {"line": line_no, "number": plan.number}})
    plot = None
    if payload.plot:
        plot = plan.site.plots.filter(code__iexact=payload.plot).first()
        if plot is None:
            raise ValidationError({"plot": [_("no such plot in %(site)s") % {"site": plan.site.code}]})
    services.plan_line_set_plot(user=request.user, line=line, plot=plot)
    row = next(r for r in selectors.plan_lines(plan=plan, offset=line_no - 1, limit=1)["rows"])
    return Status(200, {"line": row["line"].line_no, "rank": row["line"].rank, "household": row["household"].number,
                 "size": row["household"].size, "plot": row["plot"].code if row["plot"] else None,
                 "score": row["line"].score, "components": row["line"].components,
                 "reasons": [str(x) for x in row["reasons"]]})


@router.post("/shelter/plans/{number}/submit",
             response={200: AllocationPlanOut, 403: ApiError, 404: ApiError, 409: ApiError})
def plan_submit(request, number: str):
    """Allocate every line's plot at once; refused, naming the line, if one was taken meanwhile."""
    plan = services.plan_submit(user=request.user, plan=access.plan_for(request.user, number, for_write=True))
    return Status(200, _plan_out(plan, limit=0))
