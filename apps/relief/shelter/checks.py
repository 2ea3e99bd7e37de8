"""`relief check` for shelter: a plot's status agrees with its allocations, land and blocks agree."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef

from relief.shelter.models import Allocation, LandUse, Plot, PlotStatus, WaitingEntry, WaitingReason, WaitingStatus


def _sample(codes: list[str]) -> str:
    return ", ".join(codes[:5]) + (" …" if len(codes) > 5 else "")


def run() -> list[str]:
    problems = []
    active = Allocation.objects.filter(plot=OuterRef("pk"), ended_at__isnull=True)
    plots = Plot.objects.annotate(lived_in=Exists(active))
    allocated_empty = list(plots.filter(status=PlotStatus.ALLOCATED, lived_in=False).values_list("code", flat=True))
    if allocated_empty:
        problems.append(f"shelter: {len(allocated_empty)} plot(s) marked allocated with no active allocation: "
                        f"{_sample(allocated_empty)}")
    lived_not_allocated = list(plots.filter(lived_in=True).exclude(status=PlotStatus.ALLOCATED)
                               .values_list("code", flat=True))
    if lived_not_allocated:
        problems.append(f"shelter: {len(lived_not_allocated)} plot(s) with an active allocation not marked "
                        f"allocated: {_sample(lived_not_allocated)}")
    reserved = list(Allocation.objects.filter(ended_at__isnull=True).exclude(plot__land_use=LandUse.RESIDENTIAL)
                    .values_list("number", flat=True))
    if reserved:
        problems.append(f"shelter: {len(reserved)} active allocation(s) on reserved land: {_sample(reserved)}")
    wrong_block = list(Plot.objects.exclude(block__site=F("site")).values_list("code", flat=True))
    if wrong_block:
        problems.append(f"shelter: {len(wrong_block)} plot(s) in a block of another site: {_sample(wrong_block)}")
    housed = Allocation.objects.filter(household=OuterRef("household"), ended_at__isnull=True)
    waiting_housed = WaitingEntry.objects.filter(status=WaitingStatus.WAITING, reason=WaitingReason.NEW_ARRIVAL) \
        .filter(Exists(housed)).count()
    if waiting_housed:
        problems.append(f"shelter: {waiting_housed} new-arrival waiting entries for households that have a plot")
    # A household that left holds no plot and waits for none (the lifecycle services end both with it).
    gone = list(Allocation.objects.filter(ended_at__isnull=True).exclude(household__status="active")
                .values_list("household__number", flat=True).order_by("household__number")[:20])
    problems += [f"household {n}: not active but still allocated a plot" for n in gone]
    waiting_gone = list(WaitingEntry.objects.filter(status=WaitingStatus.WAITING).exclude(household__status="active")
                        .values_list("household__number", flat=True).order_by("household__number")[:20])
    problems += [f"household {n}: not active but still on the waiting list" for n in waiting_gone]
    return problems
