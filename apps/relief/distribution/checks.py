"""`relief check` for distribution: every hand-over issued exactly once, entitlement states consistent."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F, Q, Sum

from relief.distribution.models import (
    COLLECTABLE,
    Card,
    CardStatus,
    CycleSite,
    Entitlement,
    EntitlementStatus,
    Redemption,
    RedemptionLine,
    RedemptionLot,
)
from relief.distribution.services import VOUCHER_REDEMPTION
from relief.households.models import HouseholdStatus
from relief.inventory.models import Reservation, StockLedgerEntry


def run() -> list[str]:
    problems = []
    handed = dict(RedemptionLine.objects.values_list("redemption_id").annotate(q=Sum("qty_handed"))
                  .values_list("redemption_id", "q"))
    ledger = {}
    for voucher, qty in (StockLedgerEntry.objects.filter(voucher_type=VOUCHER_REDEMPTION)
                         .values_list("voucher_no").annotate(q=Sum("qty")).values_list("voucher_no", "q")):
        ledger[voucher] = -qty
    for pk in Redemption.objects.values_list("pk", flat=True).iterator():
        if ledger.pop(f"RDM-{pk}", 0) != (handed.get(pk) or 0):
            problems.append(f"redemption RDM-{pk}: stock issued differs from the quantities handed over")
    for voucher in sorted(ledger):
        if ledger[voucher]:
            problems.append(f"stock issued under {voucher} has no redemption")
    # Collected (wholly or partly) ⇔ it has lines, and what the lines handed over is what it counts as collected.
    lines = Entitlement.objects.annotate(n=Count("redemption_lines"), handed=Sum("redemption_lines__qty_handed"))
    bad = lines.filter(
        (Q(status__in=[EntitlementStatus.REDEEMED, EntitlementStatus.OWED]) & Q(n=0))
        | (Q(status=EntitlementStatus.OPEN) & Q(n__gt=0))
        | (Q(n__gt=0) & ~Q(handed=F("qty_collected")))).count()
    if bad:
        problems.append(f"{bad} entitlement(s) whose status disagrees with their redemption lines")
    doubled = Card.objects.filter(status=CardStatus.ACTIVE).values("household_id").annotate(n=Count("pk")) \
        .filter(n__gt=1).count()
    if doubled:
        problems.append(f"{doubled} household(s) with more than one active card")
    # What a household that left must not keep: the lifecycle services end these in the same transaction.
    carded = list(Card.objects.filter(status=CardStatus.ACTIVE).exclude(household__status=HouseholdStatus.ACTIVE)
                  .values_list("household__number", flat=True).order_by("household__number")[:20])
    problems += [f"household {n}: not active but holds an active card" for n in carded]
    owed = list(Entitlement.objects.filter(status__in=COLLECTABLE).exclude(household__status=HouseholdStatus.ACTIVE)
                .values_list("household__number", flat=True).distinct().order_by("household__number")[:20])
    problems += [f"household {n}: not active but has entitlements still to collect" for n in owed]
    return problems + _lot_problems() + _reservation_problems()


def _lot_problems() -> list[str]:
    """Each redemption's lots (the donor trace) are the lots its ledger rows issued, quantity for quantity."""
    traced: dict[tuple[str, int], int] = defaultdict(int)
    for redemption, lot, qty in RedemptionLot.objects.values_list("line__redemption_id", "lot_id") \
            .annotate(q=Sum("qty")).values_list("line__redemption_id", "lot_id", "q"):
        traced[(f"RDM-{redemption}", lot)] += qty
    issued = {(voucher, lot): -qty for voucher, lot, qty in StockLedgerEntry.objects
              .filter(voucher_type=VOUCHER_REDEMPTION).values_list("voucher_no", "lot_id")
              .annotate(q=Sum("qty")).values_list("voucher_no", "lot_id", "q")}
    wrong = sorted({voucher for voucher, lot in set(traced) | set(issued)
                    if traced.get((voucher, lot), 0) != issued.get((voucher, lot), 0)})
    return [f"redemption {voucher}: the lots it traces differ from the lots the ledger issued"
            for voucher in wrong[:20]]


def _reservation_problems() -> list[str]:
    """A cycle never holds more stock at a point than is still to collect there."""
    problems = []
    for cs in CycleSite.objects.select_related("cycle", "site").order_by("pk"):
        reference = cs.cycle.reservation_reference(cs.site.code)
        reserved = dict(Reservation.objects.filter(reference=reference, bin__warehouse_id=cs.warehouse_id)
                        .values_list("bin__item_id").annotate(q=Sum("qty")).values_list("bin__item_id", "q"))
        if not reserved:
            continue
        open_ = dict(Entitlement.objects.filter(cycle_id=cs.cycle_id, site_id=cs.site_id, status__in=COLLECTABLE)
                     .values_list("item_id").annotate(q=Sum(F("qty") - F("qty_collected")))
                     .values_list("item_id", "q"))
        for item, qty in sorted(reserved.items()):
            if qty > (open_.get(item) or 0):
                problems.append(f"{reference}: {qty} of item {item} reserved for {open_.get(item) or 0} still to "
                                f"collect")
    return problems
