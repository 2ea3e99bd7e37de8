"""`relief check` for distribution: every hand-over issued exactly once, entitlement states consistent."""

from __future__ import annotations

from django.db.models import Count, F, Q, Sum

from relief.distribution.models import (
    COLLECTABLE,
    Card,
    CardStatus,
    Entitlement,
    EntitlementStatus,
    Redemption,
    RedemptionLine,
)
from relief.distribution.services import VOUCHER_REDEMPTION
from relief.households.models import HouseholdStatus
from relief.inventory.models import StockLedgerEntry


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
    return problems
