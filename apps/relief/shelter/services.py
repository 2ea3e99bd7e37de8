"""Every change to shelter records: plots, allocations, relocations, the waiting list, plans, merges.

Each business action is one transaction that follows the house lock order (``relief.core.locks``):
the households concerned first (through the registry's ``households_lock``), then plots in id order,
then the allocation rows; a plot's status and its active allocation change together. A merge holds
both households, so it and any allocation, relocation or end of an allocation of either household
are served one after the other. The services check first so the user reads a clear message naming
the field; the unique indexes on the allocation's active keys are the last word on races.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from relief.core.db import lock_rows, retry_on_deadlock
from relief.core.documents import DocumentError
from relief.core.history import rows_set
from relief.core.locks import Rank
from relief.core.naming import naming_next
from relief.core.services import document_lifecycle, document_submit
from relief.households import services as household_services
from relief.shelter import access, planner, selectors
from relief.shelter.models import (
    Allocation,
    AllocationPlan,
    AllocationPlanLine,
    AllocationSource,
    EndReason,
    LandUse,
    Plot,
    PlotStatus,
    WaitingEntry,
    WaitingReason,
    WaitingStatus,
)
from relief.shelter.rules import SPHERE_M2_PER_PERSON, space_needed
from relief.shelter.signals import allocations_ended, allocations_started

# Checks an Administrator may override with a recorded reason; every other check is absolute.
OVERRIDABLE = {"sphere", "access"}
MANUAL_END_REASONS = {EndReason.DEPARTED, EndReason.ERROR, EndReason.OTHER}


@dataclass(frozen=True)
class Problem:
    code: str
    field: str
    message: str

    @property
    def overridable(self) -> bool:
        return self.code in OVERRIDABLE


def allocation_problems(*, plot: Plot, household, relocating: Allocation | None = None) -> list[Problem]:
    """Why ``household`` may not move onto ``plot`` now; empty if it may."""
    taken = Allocation.objects.filter(plot=plot, ended_at__isnull=True).values_list("number", flat=True).first()
    housed = Allocation.objects.filter(household_id=household.pk, ended_at__isnull=True).select_related("plot")
    if relocating is not None:
        housed = housed.exclude(pk=relocating.pk)
    return problems_of(plot=plot, household=household, taken=taken, current=housed.first(),
                       needs_access=selectors.household_needs_access(household))


def problems_of(*, plot: Plot, household, taken: str | None, current: Allocation | None,
                needs_access: bool) -> list[Problem]:
    """The checks on known facts: ``taken`` is the number of the plot's active allocation, ``current`` the
    household's active allocation that is not being replaced."""
    problems = []
    if household.status != selectors.HOUSEHOLD_ACTIVE:
        problems.append(Problem("household_inactive", "household", _("the household is not active (%(status)s)")
                                % {"status": household.get_status_display()}))
    if household.site_id != plot.site_id:
        problems.append(Problem("site", "plot", _("plot %(plot)s is not in the household's site")
                                % {"plot": plot.code}))
    if plot.land_use != LandUse.RESIDENTIAL:
        problems.append(Problem("reserved", "plot", _("plot %(plot)s is reserved land (%(use)s) and is never allocated")
                                % {"plot": plot.code, "use": plot.get_land_use_display()}))
    if plot.status == PlotStatus.UNUSABLE:
        problems.append(Problem("unusable", "plot", _("plot %(plot)s is marked unusable") % {"plot": plot.code}))
    if taken:
        problems.append(Problem("taken", "plot", _("plot %(plot)s is already allocated (%(number)s)")
                                % {"plot": plot.code, "number": taken}))
    if current is not None:
        problems.append(Problem("housed", "household", _("the household already lives on plot %(plot)s "
                                                         "(%(number)s): relocate it instead")
                                % {"plot": current.plot.code, "number": current.number}))
    need = space_needed(household.size)
    if float(plot.covered_m2) < need:
        problems.append(Problem("sphere", "plot", _(
            "plot %(plot)s has %(covered)s m² covered for %(size)s people; the Sphere minimum is %(need)s m² "
            "(%(per)s m² per person)") % {"plot": plot.code, "covered": plot.covered_m2, "size": household.size,
                                          "need": f"{need:.1f}", "per": SPHERE_M2_PER_PERSON}))
    if needs_access and not plot.accessible:
        problems.append(Problem("access", "plot", _("a member of the household has a disability: plot %(plot)s "
                                                    "is not accessible") % {"plot": plot.code}))
    return problems


def _refuse(problems: Iterable[Problem], *, extra: str = "") -> None:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(problem.message + extra)
    if errors:
        raise ValidationError(errors)


def _resolve(problems: list[Problem], *, user, override_reason: str) -> list[str]:
    """The overridden check codes, or a refusal that names every problem."""
    _refuse(p for p in problems if not p.overridable)
    soft = [p for p in problems if p.overridable]
    if not soft:
        return []
    if not override_reason.strip():
        _refuse(soft, extra=" " + _("(an Administrator may override this with a reason)"))
    if not access.can_override(user):
        raise PermissionDenied(_("Only an Administrator may override: %(checks)s")
                               % {"checks": "; ".join(p.message for p in soft)})
    return [p.code for p in soft]


def _lock_plots(ids: Iterable[int]) -> dict[int, Plot]:
    return {plot.pk: plot for plot in lock_rows(Plot.objects.filter(pk__in=set(ids)), rank=Rank.PLOT)}


def _lock_allocations(queryset) -> list[Allocation]:
    """Allocation rows go with their plot's rank: locked right after the plots."""
    return lock_rows(queryset, rank=Rank.PLOT)


def _set_plot_status(plot: Plot, status: str, *, user) -> None:
    plot.status = status
    plot._history_user = user
    plot.save(update_fields=["status"])


def _live_in_block(*, user, household, plot: Plot) -> None:
    """The registry records the block the household lives in: keep it in step with its plot."""
    if household.block_id != plot.block_id:
        household_services.household_update(user=user, household=household, fields={"block": plot.block})


def _allocate(*, user, plot: Plot, household, override_reason: str = "", source: str = AllocationSource.DESK,
              previous: Allocation | None = None, plan: AllocationPlan | None = None,
              number: str | None = None) -> Allocation:
    """Inside a transaction that holds ``plot``'s lock."""
    household = selectors.household_fresh(household)
    overrides = _resolve(allocation_problems(plot=plot, household=household, relocating=previous),
                         user=user, override_reason=override_reason)
    allocation = Allocation(
        number=number or naming_next(series=Allocation.naming_series.format(year=timezone.now().year)),
        plot=plot, household=household, source=source, previous=previous, plan=plan, overrides=overrides,
        override_reason=override_reason.strip()[:300] if overrides else "", started_by=user,
    )
    allocation._history_user = user
    try:
        with transaction.atomic():
            allocation.save()
    except IntegrityError as exc:
        raise ValidationError({"plot": [_("plot %(plot)s or the household was allocated by someone else at the "
                                          "same moment; reload and try again") % {"plot": plot.code}]}) from exc
    _set_plot_status(plot, PlotStatus.ALLOCATED, user=user)
    _close_waiting(household_ids=[household.pk], allocations={household.pk: allocation}, user=user)
    _live_in_block(user=user, household=household, plot=plot)
    allocations_started.send(sender=Allocation, allocations=[allocation], user=user)
    return allocation


def _end(allocation: Allocation, *, user, reason: str, note: str = "", free_plot: Plot | None = None) -> None:
    allocation.ended_at = timezone.now()
    allocation.ended_by = user
    allocation.end_reason = reason
    allocation.end_note = note.strip()[:200]
    allocation._history_user = user
    allocation.save(update_fields=["ended_at", "ended_by", "end_reason", "end_note"])
    if free_plot is not None:
        _set_plot_status(free_plot, PlotStatus.VACANT, user=user)
    allocations_ended.send(sender=Allocation, allocations=[allocation], user=user)


def _close_waiting(*, household_ids: list[int], allocations: dict[int, Allocation], user) -> None:
    now = timezone.now()
    for entry in WaitingEntry.objects.filter(household_id__in=household_ids, status=WaitingStatus.WAITING):
        entry.status = WaitingStatus.ALLOCATED
        entry.allocation = allocations[entry.household_id]
        entry.closed_at = now
        entry._history_user = user
        entry.save(update_fields=["status", "allocation", "closed_at"])


@retry_on_deadlock
def plot_allocate(*, user, plot: Plot, household, override_reason: str = "") -> Allocation:
    """Give a vacant plot to a household that has none."""
    with transaction.atomic():
        household_services.households_lock(household_ids=[household.pk])
        locked = _lock_plots([plot.pk])[plot.pk]
        return _allocate(user=user, plot=locked, household=household, override_reason=override_reason)


@retry_on_deadlock
def allocation_end(*, user, allocation: Allocation, reason: str, note: str = "") -> Allocation:
    """The household no longer lives on the plot (it left, or it was recorded in error); the plot is vacant."""
    if reason not in MANUAL_END_REASONS:
        raise ValidationError({"reason": [_("choose one of: %(choices)s") % {
            "choices": ", ".join(sorted(str(r) for r in MANUAL_END_REASONS))}]})
    if reason == EndReason.OTHER and not note.strip():
        raise ValidationError({"note": [_("say why the allocation ends")]})
    with transaction.atomic():
        household_services.households_lock(household_ids=[allocation.household_id])
        plot = _lock_plots([allocation.plot_id])[allocation.plot_id]
        (locked,) = _lock_allocations(Allocation.objects.filter(pk=allocation.pk))
        if locked.ended_at is not None:
            raise ValidationError({"allocation": [_("%(number)s already ended on %(day)s") % {
                "number": locked.number, "day": f"{locked.ended_at:%Y-%m-%d}"}]})
        _end(locked, user=user, reason=reason, note=note, free_plot=plot)
        return locked


@retry_on_deadlock
def household_relocate(*, user, household, plot: Plot, override_reason: str = "", note: str = "") -> Allocation:
    """Move a household to another plot: the old allocation ends and the new one starts, together or not at all."""
    with transaction.atomic():
        household_services.households_lock(household_ids=[household.pk])
        current = Allocation.objects.filter(household_id=household.pk, ended_at__isnull=True).first()
        if current is None:
            raise ValidationError({"household": [_("the household has no plot to move from: allocate one instead")]})
        if current.plot_id == plot.pk:
            raise ValidationError({"plot": [_("the household already lives on plot %(plot)s") % {"plot": plot.code}]})
        plots = _lock_plots([current.plot_id, plot.pk])
        (current,) = _lock_allocations(Allocation.objects.filter(pk=current.pk))
        if current.ended_at is not None:
            raise ValidationError({"household": [_("%(number)s ended meanwhile; reload and try again")
                                                 % {"number": current.number}]})
        _end(current, user=user, reason=EndReason.RELOCATED, note=note, free_plot=plots[current.plot_id])
        return _allocate(user=user, plot=plots[plot.pk], household=household, override_reason=override_reason,
                         source=AllocationSource.RELOCATION, previous=current)


@retry_on_deadlock
def plot_set_status(*, user, plot: Plot, status: str, note: str = "") -> Plot:
    """Mark a vacant plot unusable (flooded, collapsed) or usable again."""
    if status not in (PlotStatus.VACANT, PlotStatus.UNUSABLE):
        raise ValidationError({"status": [_("a plot becomes allocated only through an allocation")]})
    with transaction.atomic():
        locked = _lock_plots([plot.pk])[plot.pk]
        if locked.status == PlotStatus.ALLOCATED:
            raise ValidationError({"status": [_("plot %(plot)s is allocated: relocate the household first")
                                              % {"plot": locked.code}]})
        locked.status = status
        locked.note = note.strip()[:200] or locked.note
        locked._history_user = user
        locked.save(update_fields=["status", "note"])
        return locked


@retry_on_deadlock
def plot_save(*, user, plot: Plot) -> Plot:
    """Create or change a plot's land and shelter details (never its status: see plot_set_status)."""
    with transaction.atomic():
        if plot.pk is not None:
            stored = _lock_plots([plot.pk])[plot.pk]
            plot.status = stored.status
            if stored.status == PlotStatus.ALLOCATED and plot.land_use != LandUse.RESIDENTIAL:
                raise ValidationError({"land_use": [_("plot %(plot)s is allocated: it cannot become reserved land")
                                                    % {"plot": plot.code}]})
        elif plot.status == PlotStatus.ALLOCATED:
            raise ValidationError({"status": [_("a plot becomes allocated only through an allocation")]})
        plot.full_clean()
        plot._history_user = user
        plot.save()
        return plot


@retry_on_deadlock
def waiting_add(*, user, household, reason: str = WaitingReason.NEW_ARRIVAL, note: str = "",
                since=None) -> WaitingEntry:
    """Put a household on its site's waiting list."""
    if reason not in WaitingReason.values:
        raise ValidationError({"reason": [_("choose one of: %(choices)s")
                                          % {"choices": ", ".join(WaitingReason.values)}]})
    with transaction.atomic():
        household = selectors.household_fresh(household)
        if household.status != selectors.HOUSEHOLD_ACTIVE:
            raise ValidationError({"household": [_("the household is not active (%(status)s)")
                                                 % {"status": household.get_status_display()}]})
        housed = Allocation.objects.filter(household_id=household.pk, ended_at__isnull=True).exists()
        if reason == WaitingReason.NEW_ARRIVAL and housed:
            raise ValidationError({"reason": [_("the household already has a plot: list it for relocation")]})
        if reason != WaitingReason.NEW_ARRIVAL and not housed:
            raise ValidationError({"reason": [_("the household has no plot yet: list it as a new arrival")]})
        if WaitingEntry.objects.filter(household_id=household.pk, status=WaitingStatus.WAITING).exists():
            raise ValidationError({"household": [_("the household is already on the waiting list")]})
        entry = WaitingEntry(site_id=household.site_id, household=household, reason=reason, note=note.strip()[:200],
                             since=since or timezone.now(), created_by=user)
        entry._history_user = user
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError as exc:
            raise ValidationError({"household": [_("the household is already on the waiting list")]}) from exc
        return entry


@retry_on_deadlock
def waiting_withdraw(*, user, entry: WaitingEntry, note: str = "") -> WaitingEntry:
    with transaction.atomic():
        (locked,) = lock_rows(WaitingEntry.objects.filter(pk=entry.pk))
        if locked.status != WaitingStatus.WAITING:
            raise ValidationError({"entry": [_("the entry is no longer waiting (%(status)s)")
                                             % {"status": locked.get_status_display()}]})
        locked.status = WaitingStatus.WITHDRAWN
        locked.closed_at = timezone.now()
        locked.note = note.strip()[:200] or locked.note
        locked._history_user = user
        locked.save(update_fields=["status", "closed_at", "note"])
        return locked


def weights_from(raw: dict | None) -> planner.Weights:
    """Weights given by the officer, each a number from 0 to 100; the others keep their default."""
    defaults = planner.Weights().as_dict()
    raw = raw or {}
    errors = {}
    values = {}
    for name, value in raw.items():
        if name not in defaults:
            errors[f"weights.{name}"] = [_("unknown rule; the rules are: %(rules)s") % {"rules": ", ".join(defaults)}]
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[f"weights.{name}"] = [_("must be a number")]
            continue
        if not 0 <= number <= 100:
            errors[f"weights.{name}"] = [_("must be between 0 and 100")]
            continue
        values[name] = number
    if errors:
        raise ValidationError(errors)
    return planner.Weights(**{**defaults, **values})


@retry_on_deadlock
def plan_create(*, user, site, weights: planner.Weights | None = None) -> AllocationPlan:
    """Run the planner over the site's waiting list and keep its proposal as a draft plan."""
    weights = weights or planner.Weights()
    problem = selectors.planning_problem(site=site)
    started = time.perf_counter()
    proposal = planner.plan(problem.households, problem.plots, present=problem.present, weights=weights)
    seconds = time.perf_counter() - started
    with transaction.atomic():
        plan = AllocationPlan(site=site, weights=weights.as_dict(), waiting_count=len(problem.entry_ids),
                              vacant_count=int(problem.plots.allocatable.sum()), solve_seconds=round(seconds, 3),
                              created_by=user)
        plan._history_user = user
        plan.save()
        order = np.lexsort((np.arange(len(problem.entry_ids)), -problem.households.priority))
        lines = []
        for line_no, i in enumerate(order, start=1):
            chosen = int(proposal.plot[i])
            lines.append(AllocationPlanLine(
                plan=plan, line_no=line_no, rank=line_no, entry_id=problem.entry_ids[i],
                household_id=problem.household_ids[i],
                plot_id=problem.plot_ids[chosen] if chosen >= 0 else None,
                score=round(float(proposal.score[i]), 3) if chosen >= 0 else 0.0,
                components={k: round(float(v[i]), 3) for k, v in proposal.components.items() if chosen >= 0 and v[i]},
            ))
        bulk_create_with_history(lines, AllocationPlanLine, batch_size=2000, default_user=user)
        return plan


def plan_job(*, job, site_id: int, user_id: int, weights: dict) -> dict:
    """Background job: run the planner and open the draft it made."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from relief.core.jobs import job_progress
    from relief.core.models import Site

    user = get_user_model().objects.get(pk=user_id)
    job_progress(job, done=0, total=1, message=_("planning"))
    plan = plan_create(user=user, site=Site.objects.get(pk=site_id), weights=weights_from(weights))
    return {"plan": plan.number, "next": reverse("shelter:plan", args=[plan.number])}


@retry_on_deadlock
def plan_line_set_plot(*, user, line: AllocationPlanLine, plot: Plot | None) -> AllocationPlanLine:
    """The officer changes a line's plot (or empties it: the household keeps waiting)."""
    with transaction.atomic():
        (locked,) = lock_rows(AllocationPlanLine.objects.filter(pk=line.pk).select_related("plan", "household"))
        if not locked.plan.is_draft:
            raise DocumentError(_("%(number)s is %(status)s; its lines cannot be changed")
                                % {"number": locked.plan.number, "status": locked.plan.status})
        if plot is not None:
            if plot.site_id != locked.plan.site_id:
                raise ValidationError({"plot": [_("plot %(plot)s is not in the plan's site") % {"plot": plot.code}]})
            other = AllocationPlanLine.objects.filter(plan=locked.plan, plot=plot).exclude(pk=locked.pk).first()
            if other is not None:
                raise ValidationError({"plot": [_("plot %(plot)s is already on line %(line)s of this plan")
                                                % {"plot": plot.code, "line": other.line_no}]})
            relocating = None
            if WaitingEntry.objects.get(pk=locked.entry_id).reason != WaitingReason.NEW_ARRIVAL:
                relocating = Allocation.objects.filter(household_id=locked.household_id, ended_at__isnull=True).first()
            _refuse(allocation_problems(plot=plot, household=locked.household, relocating=relocating))
        locked.plot = plot
        locked.edited = True
        locked.score = 0.0
        locked.components = {}
        locked._history_user = user
        locked.save(update_fields=["plot", "edited", "score", "components"])
        return locked


def plan_post(*, plan: AllocationPlan, user) -> None:
    """Allocate every line's plot, inside the submit transaction. The first line that can no longer be
    allocated refuses the whole plan, named, and nothing is allocated."""
    lines = list(plan.lines.filter(plot__isnull=False).select_related("entry").order_by("line_no"))
    if not lines:
        raise DocumentError(_("%(number)s has no line with a plot") % {"number": plan.number})
    household_ids = [line.household_id for line in lines]
    moving_from = Allocation.objects.filter(household_id__in=household_ids, ended_at__isnull=True)
    # The households, then plots (the lines' and those relocated households leave), in id order, then allocations.
    household_services.households_lock(household_ids=household_ids)
    plots = _lock_plots([line.plot_id for line in lines] + list(moving_from.values_list("plot_id", flat=True)))
    current = {a.household_id: a for a in _lock_allocations(moving_from)}
    taken = dict(Allocation.objects.filter(plot_id__in=[line.plot_id for line in lines], ended_at__isnull=True)
                 .values_list("plot_id", "number"))
    households = selectors.households_by_id(household_ids)
    needs_access = selectors.households_needing_access(household_ids)
    for line in lines:
        plot, household = plots[line.plot_id], households[line.household_id]
        relocating = line.entry.reason != WaitingReason.NEW_ARRIVAL
        if line.entry.status != WaitingStatus.WAITING:
            raise DocumentError(_("line %(line)s: the household is no longer waiting (%(status)s); nothing was "
                                  "allocated") % {"line": line.line_no, "status": line.entry.get_status_display()})
        problems = problems_of(plot=plot, household=household, taken=taken.get(plot.pk),
                               current=None if relocating else current.get(household.pk),
                               needs_access=household.pk in needs_access)
        if problems:
            raise DocumentError(_("line %(line)s: %(problems)s; nothing was allocated") % {
                "line": line.line_no, "problems": "; ".join(p.message for p in problems)})
    started = []
    for line in lines:
        household, plot = households[line.household_id], plots[line.plot_id]
        previous = current.get(household.pk) if line.entry.reason != WaitingReason.NEW_ARRIVAL else None
        if previous is not None:
            _end(previous, user=user, reason=EndReason.RELOCATED, note=plan.number, free_plot=plots[previous.plot_id])
        allocation = Allocation(number=f"{plan.number}-{line.line_no}", plot=plot, household=household,
                                source=AllocationSource.PLAN, plan=plan, previous=previous, started_by=user)
        allocation._history_user = user
        try:
            with transaction.atomic():
                allocation.save()
        except IntegrityError as exc:
            raise DocumentError(_("line %(line)s: plot %(plot)s or the household was allocated by someone else at "
                                  "the same moment; nothing was allocated")
                                % {"line": line.line_no, "plot": plot.code}) from exc
        _set_plot_status(plot, PlotStatus.ALLOCATED, user=user)
        entry = line.entry
        entry.status, entry.allocation, entry.closed_at = WaitingStatus.ALLOCATED, allocation, timezone.now()
        entry._history_user = user
        entry.save(update_fields=["status", "allocation", "closed_at"])
        _live_in_block(user=user, household=household, plot=plot)
        started.append(allocation)
    allocations_started.send(sender=Allocation, allocations=started, user=user)


def plan_submit(*, user, plan: AllocationPlan) -> AllocationPlan:
    access.plan_for(user, plan.number, for_write=True)
    return document_submit(document=plan, user=user)


def household_merge_move(*, user, survivor, merged) -> None:
    """Receiver of ``household_merged``, inside the merge transaction: the merged household's plot and
    place on the waiting list go to the survivor, unless it already has its own."""
    now = timezone.now()
    # The merge holds both households, and every change to their allocations locks the household first:
    # what is read here stays true until the merge commits.
    merged_allocation = Allocation.objects.filter(household_id=merged.pk, ended_at__isnull=True).first()
    survivor_housed = Allocation.objects.filter(household_id=survivor.pk, ended_at__isnull=True).exists()
    if merged_allocation is not None:
        plot = _lock_plots([merged_allocation.plot_id])[merged_allocation.plot_id]
        (merged_allocation,) = _lock_allocations(Allocation.objects.filter(pk=merged_allocation.pk))
    if merged_allocation is not None and merged_allocation.ended_at is None:
        _end(merged_allocation, user=user, reason=EndReason.MERGED, note=survivor.number,
             free_plot=plot if survivor_housed else None)
        if not survivor_housed:
            moved = Allocation(number=naming_next(series=Allocation.naming_series.format(year=now.year)), plot=plot,
                               household=survivor, source=AllocationSource.MERGE, previous=merged_allocation,
                               started_by=user)
            moved._history_user = user
            moved.save()
            allocations_started.send(sender=Allocation, allocations=[moved], user=user)
            survivor_housed = True
    entry = WaitingEntry.objects.filter(household_id=merged.pk, status=WaitingStatus.WAITING).first()
    if entry is not None:
        entry.status, entry.closed_at, entry.note = WaitingStatus.WITHDRAWN, now, _("merged into another household")
        entry._history_user = user
        entry.save(update_fields=["status", "closed_at", "note"])
        survivor_waits = WaitingEntry.objects.filter(household_id=survivor.pk, status=WaitingStatus.WAITING).exists()
        reason = entry.reason
        if survivor_housed and reason == WaitingReason.NEW_ARRIVAL:
            reason = WaitingReason.OVERCROWDED
        if not survivor_waits and (survivor_housed or reason == WaitingReason.NEW_ARRIVAL):
            moved_entry = WaitingEntry(site_id=survivor.site_id, household=survivor, reason=reason, since=entry.since,
                                       note=entry.note, created_by=user)
            moved_entry._history_user = user
            moved_entry.save()
    # A draft plan may not allocate a household that no longer exists on its own.
    for line in AllocationPlanLine.objects.filter(household_id=merged.pk, plan__status="draft"):
        line.delete()


# --- households leave, move and come back (receivers of the registry's lifecycle signals) ---------------------

# The registry's exit reasons, as the end reason of the allocation they close.
END_REASON_OF_EXIT = {"departed": EndReason.DEPARTED, "returned": EndReason.RETURNED,
                      "deceased": EndReason.DECEASED, "other": EndReason.OTHER}


def _households_vacate(*, user, household_ids: list[int], reason: str, note: str) -> list[Allocation]:
    """End the active allocations of these households and free their plots, withdraw their waiting entries and
    their lines of draft plans. Inside the lifecycle transaction, after the households' locks: plots, then
    allocations, each in id order. Returns the allocations ended."""
    now = timezone.now()
    current = list(Allocation.objects.filter(household_id__in=household_ids, ended_at__isnull=True)
                   .values_list("pk", "plot_id"))
    ended: list[Allocation] = []
    if current:
        plots = _lock_plots([plot_id for _pk, plot_id in current])
        ended = _lock_allocations(Allocation.objects.filter(pk__in=[pk for pk, _plot in current],
                                                            ended_at__isnull=True))
        rows_set(ended, values={"ended_at": now, "ended_by": user, "end_reason": reason, "end_note": note[:200]},
                 user=user)
        rows_set([plots[a.plot_id] for a in ended], values={"status": PlotStatus.VACANT}, user=user)
    # Waiting entries hang on their household (already locked): they go with the plots' rank.
    waiting = lock_rows(WaitingEntry.objects.filter(household_id__in=household_ids, status=WaitingStatus.WAITING),
                        rank=Rank.PLOT)
    rows_set(waiting, values={"status": WaitingStatus.WITHDRAWN, "closed_at": now,
                              "note": (note or str(EndReason(reason).label))[:200]}, user=user)
    for line in AllocationPlanLine.objects.filter(household_id__in=household_ids, plan__status="draft"):
        line.delete()
    if ended:
        allocations_ended.send(sender=Allocation, allocations=ended, user=user)
    return ended


def households_left_move(*, user, households, reason: str, note: str = "") -> None:
    """Receiver of ``households_left``: their plots are vacant again and nobody waits in their name."""
    _households_vacate(user=user, household_ids=[h.pk for h in households],
                       reason=END_REASON_OF_EXIT.get(reason, EndReason.OTHER), note=note)


def households_transferred_move(*, user, households, note: str = "") -> None:
    """Receiver of ``households_transferred``: the plot in the old site is freed and the household waits for
    one in its new site, since it came with its old reason (a new arrival there)."""
    _households_vacate(user=user, household_ids=[h.pk for h in households], reason=EndReason.TRANSFERRED,
                       note=note)
    _wait_as_new_arrivals(user=user, households=households, note=note)


def households_reactivated_move(*, user, households) -> None:
    """Receiver of ``households_reactivated``: a household back on the books waits for a plot."""
    _wait_as_new_arrivals(user=user, households=households, note=_("came back"))


def _wait_as_new_arrivals(*, user, households, note: str) -> None:
    ids = [h.pk for h in households]
    housed = set(Allocation.objects.filter(household_id__in=ids, ended_at__isnull=True)
                 .values_list("household_id", flat=True))
    waiting = set(WaitingEntry.objects.filter(household_id__in=ids, status=WaitingStatus.WAITING)
                  .values_list("household_id", flat=True))
    now = timezone.now()
    entries = [WaitingEntry(site_id=h.site_id, household_id=h.pk, reason=WaitingReason.NEW_ARRIVAL, since=now,
                            note=note[:200], created_by=user)
               for h in households if h.pk not in housed and h.pk not in waiting]
    if entries:
        bulk_create_with_history(entries, WaitingEntry, default_user=user)


# An allocation plan's allocations are ended one by one on the shelter pages, never by cancelling the plan.
document_lifecycle(AllocationPlan, post=lambda plan, user: plan_post(plan=plan, user=user))
