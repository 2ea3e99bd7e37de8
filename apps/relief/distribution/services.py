"""Every change in distribution: cycles and their entitlements, events, cards, redemptions, offline sync.

Lock order, whatever the action, is the house's (``relief.core.locks``): the subject (the event row,
shared, or the cycle) → households (a re-generation, through the registry's ``households_lock``) →
card → entitlement rows (by pk) → inventory bins in (item, warehouse, lot) order (taken inside
``relief.inventory.services``). Two redemptions of one household meet on the
entitlement rows and are served one after the other; a redemption line's (entitlement, hand-over
number) is unique, the database's last word. A short hand-over for want of stock leaves the rest
*owed*: the entitlement stays collectable for its remainder, by a later or a mop-up event.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from relief.core.db import lock_rows, retry_on_deadlock
from relief.core.documents import DocStatus, DocumentError
from relief.core.faults import fault_point
from relief.core.history import rows_set
from relief.core.locks import Rank
from relief.core.naming import naming_next
from relief.core.roles import has_role
from relief.core.services import document_cancel, document_lifecycle, document_submit
from relief.distribution import access, cardtoken
from relief.distribution.models import (
    COLLECTABLE,
    OWED_REASONS,
    ApprovalPin,
    Card,
    CardPrint,
    CardStatus,
    Collector,
    CycleGeneration,
    CycleSite,
    DistributionCycle,
    DistributionEvent,
    Entitlement,
    EntitlementStatus,
    EventItem,
    EventStatus,
    ExceptionReason,
    Redemption,
    RedemptionLine,
    RedemptionLot,
    ShortReason,
    Source,
    SyncIssue,
)
from relief.households import services as household_services
from relief.households.models import AlternateCollector, Household, HouseholdStatus
from relief.households.selectors import household_identity
from relief.inventory import selectors as inventory_selectors
from relief.inventory import services as inventory
from relief.inventory.models import Item, Warehouse

VOUCHER_REDEMPTION = "redemption"
VOUCHER_EVENT_LOSS = "distribution_loss"

VERDICTS = ("entitled", "already_collected", "not_entitled", "revoked", "invalid", "wrong_event")


# --- cycles and entitlements -----------------------------------------------------------------------------


@dataclass
class GenerationPlan:
    """What generating the cycle now would change; ``digest`` pins it for the commit."""

    add: list[tuple[int, int, int, int]] = field(default_factory=list)  # household, item, site, qty
    change: list[tuple[int, int, int]] = field(default_factory=list)  # entitlement, site, qty
    reopen: list[tuple[int, int, int]] = field(default_factory=list)  # entitlement, site, qty
    cancel: list[int] = field(default_factory=list)  # entitlement
    by_item: dict[int, dict[str, int]] = field(default_factory=dict)  # item → {"add": n, ...} quantities
    digest: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.add or self.change or self.reopen or self.cancel)

    def summary(self) -> dict[str, int]:
        return {"add": len(self.add), "change": len(self.change), "reopen": len(self.reopen),
                "cancel": len(self.cancel)}


def _wanted(cycle: DistributionCycle) -> dict[tuple[int, int], tuple[int, int]]:
    """(household, item) → (site, qty) for every eligible active household, from the rules alone."""
    rules = list(cycle.rules.all().order_by("pk"))
    site_ids = list(cycle.cycle_sites.values_list("site_id", flat=True))
    wanted: dict[tuple[int, int], tuple[int, int]] = {}
    households = (Household.objects.filter(site_id__in=site_ids, status=HouseholdStatus.ACTIVE, size__gt=0)
                  .values_list("pk", "site_id", "size", "female_headed", "child_headed", "older_person_headed")
                  .order_by("pk"))
    for pk, site_id, size, female, child, older in households.iterator(chunk_size=5000):
        flags = {"female_headed": female, "child_headed": child, "older_person_headed": older}
        for rule in rules:
            if not rule.applies_to(size=size, site_id=site_id, flags=flags):
                continue
            qty = rule.quantity_for(size)
            if qty > 0:
                _site, before = wanted.get((pk, rule.item_id), (site_id, 0))
                wanted[(pk, rule.item_id)] = (site_id, before + qty)
    return wanted


def cycle_generation_plan(*, cycle: DistributionCycle) -> GenerationPlan:
    """Compare what the rules give today with the entitlements the cycle holds. Collected ones never change."""
    wanted = _wanted(cycle)
    plan = GenerationPlan()
    by_item: dict[int, dict[str, int]] = defaultdict(lambda: {"add": 0, "change": 0, "reopen": 0, "cancel": 0})
    existing = Entitlement.objects.filter(cycle=cycle).values_list("pk", "household_id", "item_id", "site_id", "qty",
                                                                   "status").order_by("pk")
    seen = set()
    for pk, household_id, item_id, site_id, qty, status in existing.iterator(chunk_size=5000):
        key = (household_id, item_id)
        seen.add(key)
        if status in (EntitlementStatus.REDEEMED, EntitlementStatus.OWED):
            continue
        target = wanted.get(key)
        if target is None:
            if status == EntitlementStatus.OPEN:
                plan.cancel.append(pk)
                by_item[item_id]["cancel"] -= qty
        elif status == EntitlementStatus.CANCELLED:
            plan.reopen.append((pk, *target))
            by_item[item_id]["reopen"] += target[1]
        elif target != (site_id, qty):
            plan.change.append((pk, *target))
            by_item[item_id]["change"] += target[1] - qty
    for (household_id, item_id), (site_id, qty) in sorted(wanted.items()):
        if (household_id, item_id) not in seen:
            plan.add.append((household_id, item_id, site_id, qty))
            by_item[item_id]["add"] += qty
    plan.by_item = dict(by_item)
    plan.digest = hashlib.sha256(json.dumps([plan.add, plan.change, plan.reopen, plan.cancel]).encode()).hexdigest()
    return plan


def _reserve_up_to(*, warehouse: Warehouse, item: Item, reference: str, qty: int, user) -> int:
    """Reserve ``qty``, or as much as the point holds; returns what is reserved.

    Stock often reaches the distribution point after the cycle is generated; opening the event
    reserves again, so a shortfall here is reported, not refused.
    """
    try:
        inventory.reservation_set(warehouse=warehouse, item=item, reference=reference, qty=qty, user=user)
        return qty
    except inventory.InsufficientStock as short:
        held = qty - short.requested
        inventory.reservation_set(warehouse=warehouse, item=item, reference=reference, qty=held + short.available,
                                  user=user)
        return held + short.available


def _reservations_sync(*, cycle: DistributionCycle, user, site_ids: list[int] | None = None,
                       release: bool = False) -> dict[str, int]:
    """Make each site's reservation equal to what its entitlements still give — open ones in full, owed ones
    their remainder — (or 0); returns the shortfall per item code."""
    short: dict[str, int] = defaultdict(int)
    cycle_sites = cycle.cycle_sites.select_related("site", "warehouse")
    if site_ids is not None:
        cycle_sites = cycle_sites.filter(site_id__in=site_ids)
    item_ids = set(cycle.rules.values_list("item_id", flat=True)) | set(
        Entitlement.objects.filter(cycle=cycle).values_list("item_id", flat=True).distinct())
    items = Item.objects.in_bulk(item_ids)
    totals = {cs.pk: dict(Entitlement.objects.filter(cycle=cycle, site_id=cs.site_id, status__in=COLLECTABLE)
                          .values_list("item_id").annotate(total=Sum(F("qty") - F("qty_collected")))
                          .values_list("item_id", "total"))
              for cs in cycle_sites}
    # Bins in the house order, (item, warehouse): the same order as a redemption's issue and every posting.
    for item_id in sorted(items):
        for cs in sorted(cycle_sites, key=lambda cs: cs.warehouse_id):
            need = 0 if release else totals[cs.pk].get(item_id, 0) or 0
            got = _reserve_up_to(warehouse=cs.warehouse, item=items[item_id],
                                 reference=cycle.reservation_reference(cs.site.code), qty=need, user=user)
            if got < need:
                short[items[item_id].code] += need - got
    return dict(short)


def _still_active(plan: GenerationPlan) -> set[int]:
    """Lock the households the plan gives to, and return those still active.

    The plan was read without locks: a household merged (or made inactive) since must get nothing.
    Held until commit, so a merge that comes later waits and then cancels what this gave.
    """
    planned = {h for h, _i, _s, _q in plan.add}
    if plan.change or plan.reopen:
        planned |= set(Entitlement.objects.filter(pk__in=[pk for pk, _s, _q in (*plan.change, *plan.reopen)])
                       .values_list("household_id", flat=True))
    return {h.pk for h in household_services.households_lock(household_ids=planned)
            if h.status == HouseholdStatus.ACTIVE}


def _apply_plan(*, cycle: DistributionCycle, plan: GenerationPlan, user) -> CycleGeneration:
    now = timezone.now()
    active = _still_active(plan)
    Entitlement.objects.bulk_create(
        [Entitlement(cycle=cycle, household_id=h, item_id=i, site_id=s, qty=q, updated_at=now)
         for h, i, s, q in plan.add if h in active], batch_size=2000)
    # The plan was read without locks while lanes may be scanning: lock what it changes and leave alone any
    # entitlement redeemed since (a hand-over is never undone by a regeneration).
    planned = [pk for pk, _s, _q in (*plan.change, *plan.reopen)]
    locked = _lock_entitlements(Entitlement.objects.filter(pk__in=planned)) if planned else []
    status_now = {e.pk: e.status for e in locked if e.household_id in active}
    for rows, was in ((plan.change, EntitlementStatus.OPEN), (plan.reopen, EntitlementStatus.CANCELLED)):
        changed = [Entitlement(pk=pk, site_id=s, qty=q, status=EntitlementStatus.OPEN, updated_at=now)
                   for pk, s, q in rows if status_now.get(pk) == was]
        Entitlement.objects.bulk_update(changed, ["site_id", "qty", "status", "updated_at"], batch_size=2000)
    for start in range(0, len(plan.cancel), 5000):
        Entitlement.objects.filter(pk__in=plan.cancel[start:start + 5000], status=EntitlementStatus.OPEN).update(
            status=EntitlementStatus.CANCELLED, updated_at=now)
    summary = plan.summary()
    return CycleGeneration.objects.create(
        cycle=cycle, by=user, digest=plan.digest, added=summary["add"], changed=summary["change"],
        cancelled=summary["cancel"], reopened=summary["reopen"])


def _lock_entitlements(queryset) -> list[Entitlement]:
    return lock_rows(queryset, rank=Rank.ENTITLEMENT)


def _lock_card(card_id: int, *fields: str) -> Card:
    queryset = Card.objects.filter(pk=card_id)
    return lock_rows(queryset.only(*fields) if fields else queryset, rank=Rank.CARD)[0]


def _validate_cycle(cycle: DistributionCycle) -> None:
    errors = {}
    if not cycle.cycle_sites.exists():
        errors["sites"] = _("add at least one site and its distribution point")
    if not cycle.rules.exists():
        errors["rules"] = _("add at least one entitlement rule")
    for cs in cycle.cycle_sites.select_related("warehouse", "site"):
        if cs.warehouse.kind != Warehouse.Kind.DISTRIBUTION_POINT or cs.warehouse.site_id != cs.site_id:
            errors["sites"] = _("%(warehouse)s is not a distribution point of %(site)s") % {
                "warehouse": cs.warehouse.code, "site": cs.site.code}
    if errors:
        raise ValidationError(errors)


def cycle_first_generation(*, cycle: DistributionCycle, user) -> CycleGeneration:
    """Run by submitting the cycle (inside document_submit's transaction)."""
    _validate_cycle(cycle)
    generation = _apply_plan(cycle=cycle, plan=cycle_generation_plan(cycle=cycle), user=user)
    _reservations_sync(cycle=cycle, user=user)
    return generation


@retry_on_deadlock
def cycle_generate(*, cycle: DistributionCycle, user, digest: str) -> CycleGeneration:
    """Re-generate after registry changes: apply exactly the plan the user saw (``digest``), or refuse."""
    with transaction.atomic():
        cycle = lock_rows(DistributionCycle.objects.filter(pk=cycle.pk))[0]
        if cycle.status != DocStatus.SUBMITTED:
            raise DocumentError(_("%(number)s is %(status)s; only a submitted cycle is re-generated")
                                % {"number": cycle.number, "status": cycle.status})
        plan = cycle_generation_plan(cycle=cycle)
        if plan.digest != digest:
            raise ValidationError({"digest": _("the registry changed since the difference was shown; "
                                               "look at the new difference and confirm again")})
        generation = _apply_plan(cycle=cycle, plan=plan, user=user)
        if cycle.events.filter(status__in=[EventStatus.PLANNED, EventStatus.OPEN]).exists() or not plan.is_empty:
            _reservations_sync(cycle=cycle, user=user)
        return generation


def cycle_withdraw(*, cycle: DistributionCycle, user) -> None:
    """Cancelling a cycle: refused once anything was handed out; else entitlements cancelled, stock released."""
    if Entitlement.objects.filter(cycle=cycle, status=EntitlementStatus.REDEEMED).exists():
        raise DocumentError(_("%(number)s has collections recorded and cannot be cancelled") % {
            "number": cycle.number})
    if cycle.events.filter(status=EventStatus.OPEN).exists():
        raise DocumentError(_("close the open events of %(number)s first") % {"number": cycle.number})
    Entitlement.objects.filter(cycle=cycle, status=EntitlementStatus.OPEN).update(
        status=EntitlementStatus.CANCELLED, updated_at=timezone.now())
    _reservations_sync(cycle=cycle, user=user, release=True)


# --- events ------------------------------------------------------------------------------------------------


def event_create(*, cycle: DistributionCycle, site, name: str, date: date, lanes: int, user,
                 team=(), owed_only: bool = False) -> DistributionEvent:
    """A distribution day; a mop-up (``owed_only``) serves only what earlier hand-overs left owed."""
    errors = {}
    if cycle.status != DocStatus.SUBMITTED:
        errors["cycle"] = _("the cycle must be submitted (its entitlements generated)")
    cycle_site = cycle.cycle_sites.select_related("warehouse").filter(site=site).first()
    if cycle_site is None:
        errors["site"] = _("the cycle does not serve this site")
    if not 1 <= lanes <= 50:
        errors["lanes"] = _("give 1 to 50 lanes")
    if not name.strip():
        errors["name"] = _("give the event a name")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        event = DistributionEvent(
            number=naming_next(series=f"EV-{date.year}-", digits=4), name=name.strip()[:100], cycle=cycle, site=site,
            distribution_point=cycle_site.warehouse, date=date, lanes=lanes, owed_only=owed_only)
        event._history_user = user
        event.save()
        event.team.set(team)
        return event


@retry_on_deadlock
def event_open(*, event: DistributionEvent, user) -> dict[str, int]:
    """Open for scanning: reserve the site's open entitlements at the point; returns any shortfall by item."""
    with transaction.atomic():
        event = lock_rows(DistributionEvent.objects.filter(pk=event.pk))[0]
        if event.status != EventStatus.PLANNED:
            raise DocumentError(_("%(number)s is %(status)s; only a planned event is opened")
                                % {"number": event.number, "status": event.get_status_display()})
        if event.owed_only:
            planned = dict(Entitlement.objects.filter(cycle_id=event.cycle_id, site_id=event.site_id,
                                                      status=EntitlementStatus.OWED)
                           .values_list("item_id").annotate(total=Sum(F("qty") - F("qty_collected")))
                           .values_list("item_id", "total"))
        else:
            planned = dict(Entitlement.objects.filter(cycle_id=event.cycle_id, site_id=event.site_id)
                           .exclude(status=EntitlementStatus.CANCELLED)
                           .values_list("item_id").annotate(total=Sum("qty")).values_list("item_id", "total"))
        EventItem.objects.bulk_create([EventItem(event=event, item_id=i, planned=q)
                                       for i, q in sorted(planned.items())])
        short = _reservations_sync(cycle=event.cycle, user=user, site_ids=[event.site_id])
        event.status, event.opened_at = EventStatus.OPEN, timezone.now()
        event._history_user = user
        event.save(update_fields=["status", "opened_at"])
        return short


@dataclass(frozen=True)
class CloseOutCount:
    """What staff counted of one item left at the point, why any of it is missing, and how much goes back."""

    item: str  # item code
    counted: int
    returned: int = 0
    note: str = ""


def _handed_out(event_id: int) -> dict[int, int]:
    return dict(RedemptionLine.objects.filter(redemption__event_id=event_id).values_list("item_id")
                .annotate(total=Sum("qty_handed")).values_list("item_id", "total"))


def event_close_books(event: DistributionEvent) -> list[dict]:
    """Per item of the event, from the books: moved to the point (ledger receipts and transfers in since the
    cycle began, reversals netted), handed out at this event (redemptions), still owed at the site, and left
    over at the point (its bins, which every hand-over, loss and transfer has already moved)."""
    handed = _handed_out(event.pk)
    item_ids = set(event.items.values_list("item_id", flat=True)) | set(handed)
    moved = inventory_selectors.moved_in_by_item(warehouse_id=event.distribution_point_id, item_ids=sorted(item_ids),
                                                 since=event.cycle.period_start,
                                                 excluding_voucher_types=[VOUCHER_REDEMPTION])
    owed = dict(Entitlement.objects.filter(cycle_id=event.cycle_id, site_id=event.site_id,
                                           status=EntitlementStatus.OWED, item_id__in=item_ids)
                .values_list("item_id").annotate(q=Sum(F("qty") - F("qty_collected"))).values_list("item_id", "q"))
    left = inventory_selectors.on_hand_by_item(warehouse_id=event.distribution_point_id, item_ids=sorted(item_ids))
    return [{"item_id": item.pk, "code": item.code, "name": item.name, "moved_in": moved.get(item.pk, 0),
             "handed_out": handed.get(item.pk, 0), "owed": owed.get(item.pk, 0) or 0,
             "left_books": left.get(item.pk, 0) or 0}
            for item in Item.objects.filter(pk__in=item_ids).order_by("code")]


@retry_on_deadlock
def event_close(*, event: DistributionEvent, counts: list[CloseOutCount], user,
                return_to: str | None = None) -> DistributionEvent:
    """Close from the books: per item staff count what is left; books − counted is the loss, written off at the
    point with a reason; what is returned goes back to ``return_to`` (a warehouse code) by a transfer.

    What is left of the cycle's reservation at the point is released first (the no-shows' and owed goods; a
    later or mop-up event reserves again when it opens), so the returns may leave.
    """
    with transaction.atomic():
        event = lock_rows(DistributionEvent.objects.filter(pk=event.pk))[0]
        if event.status != EventStatus.OPEN:
            raise DocumentError(_("%(number)s is not open") % {"number": event.number})
        books = {row["code"]: row for row in event_close_books(event)}
        errors: dict[str, str] = {}
        given: dict[str, CloseOutCount] = {}
        for count in counts:
            row = books.get(count.item)
            if row is None:
                errors[count.item] = _("not an item of this event")
            elif min(count.counted, count.returned) < 0:
                errors[count.item] = _("quantities cannot be negative")
            elif count.counted > row["left_books"]:
                errors[count.item] = _("counted %(counted)d is more than the books' %(left)d: count again, or "
                                       "receive the extra stock first") % {"counted": count.counted,
                                                                            "left": row["left_books"]}
            elif count.returned > count.counted:
                errors[count.item] = _("returned %(returned)d is more than the %(counted)d counted") % {
                    "returned": count.returned, "counted": count.counted}
            elif count.counted < row["left_books"] and not count.note.strip():
                errors[count.item] = _("%(lost)d missing by the books: give the reason for the loss") % {
                    "lost": row["left_books"] - count.counted}
            else:
                given[count.item] = count
        for code in books:
            if code not in given and code not in errors:
                errors[code] = _("give what is left at the point")
        target = None
        if any(c.returned for c in given.values()):
            target = Warehouse.objects.filter(code=(return_to or "").strip().upper()).first()
            if target is None or target.pk == event.distribution_point_id:
                errors["return_to"] = _("choose the warehouse the returns go back to")
        if errors:
            raise ValidationError(errors)
        _reservations_sync(cycle=event.cycle, user=user, site_ids=[event.site_id], release=True)
        rows = {row.item_id: row for row in event.items.all()}
        items = Item.objects.in_bulk([row["item_id"] for row in books.values()])
        losses, returns = [], []
        for code, row in books.items():
            count = given[code]
            item = rows.get(row["item_id"]) or EventItem(event=event, item_id=row["item_id"])
            item.moved_in, item.handed_out, item.owed, item.left_books = (
                row["moved_in"], row["handed_out"], row["owed"], row["left_books"])
            item.counted, item.returned = count.counted, count.returned
            item.lost, item.note = row["left_books"] - count.counted, count.note.strip()[:200]
            rows[row["item_id"]] = item
            if item.lost:
                losses.append((items[row["item_id"]], item.lost))
            if item.returned:
                returns.append(inventory.LineData(item=code, qty=item.returned, source=event.distribution_point.code,
                                                  target=target.code))
        if losses:
            inventory.stock_issue_for_voucher(warehouse=event.distribution_point, lines=losses,
                                              voucher_type=VOUCHER_EVENT_LOSS, voucher_no=event.number, user=user)
        entry_number = ""
        if returns:
            from relief.core.services import document_submit

            entry = inventory.stock_entry_create(entry_type="transfer", lines=returns, user=user,
                                                 reference=event.number,
                                                 remarks=_("Returned after %(number)s") % {"number": event.number})
            entry_number = document_submit(document=entry, user=user).number
        for row in rows.values():
            row.return_entry = entry_number if row.returned else ""
            row.save()
        event.status, event.closed_at, event.closed_by = EventStatus.CLOSED, timezone.now(), user
        event._history_user = user
        event.save(update_fields=["status", "closed_at", "closed_by"])
        return event


# --- cards -------------------------------------------------------------------------------------------------


def _new_card(*, household: Household, generation: int, user, issued_on: date | None = None) -> Card:
    issued_on = issued_on or timezone.localdate()
    serial = naming_next(series=f"{household.site.code}-", digits=7)
    code = cardtoken.encode(cardtoken.CardClaims(
        serial=serial, generation=generation, household=household.number, issued=issued_on, site=household.site.code))
    card = Card(household=household, serial=serial, generation=generation, issued_on=issued_on,
                key_id=cardtoken.decode(code).kid.hex(), code=code)
    card._history_user = user
    card.save()
    return card


@retry_on_deadlock
def cards_issue(*, households: list[Household], user) -> list[Card]:
    """A first card for each active household that has no active card; returns the new cards."""
    with transaction.atomic():
        ids = [h.pk for h in households]
        have = set(Card.objects.filter(household_id__in=ids, status=CardStatus.ACTIVE).values_list("household_id",
                                                                                                    flat=True))
        last = dict(Card.objects.filter(household_id__in=ids).values_list("household_id")
                    .annotate(g=Max("generation")).values_list("household_id", "g"))
        made = []
        for household in sorted(households, key=lambda h: h.pk):
            if household.pk in have or household.status != HouseholdStatus.ACTIVE:
                continue
            made.append(_new_card(household=household, generation=last.get(household.pk, 0) + 1, user=user))
        return made


REPLACE_REASONS = {CardStatus.LOST, CardStatus.DAMAGED, CardStatus.REPLACED}


@retry_on_deadlock
def card_replace(*, card: Card, reason: str, user, note: str = "") -> Card:
    """A new card (next generation) for the household; the old serial never verifies again."""
    if reason not in REPLACE_REASONS:
        raise ValidationError({"reason": _("choose lost, damaged or replaced")})
    with transaction.atomic():
        card = _lock_card(card.pk)
        if card.status != CardStatus.ACTIVE:
            raise ValidationError({"card": _("card %(serial)s is already %(status)s") % {
                "serial": card.serial, "status": card.get_status_display()}})
        household = Household.objects.select_related("site").get(pk=card.household_id)
        if household.status != HouseholdStatus.ACTIVE:
            raise ValidationError({"household": _("the household is not active")})
        _end_card(card=card, status=reason, note=note, user=user)
        new = _new_card(household=household, generation=card.generation + 1, user=user)
        card.replaced_by = new
        card.save(update_fields=["replaced_by"])
        return new


def _end_card(*, card: Card, status: str, note: str, user) -> None:
    card.status, card.status_reason, card.status_changed_at = status, note[:200], timezone.now()
    card._history_user = user
    card.save(update_fields=["status", "status_reason", "status_changed_at"])


@retry_on_deadlock
def card_revoke(*, card: Card, user, note: str = "") -> Card:
    with transaction.atomic():
        card = _lock_card(card.pk)
        if card.status == CardStatus.ACTIVE:
            _end_card(card=card, status=CardStatus.REVOKED, note=note, user=user)
        return card


def card_prints_record(*, cards: list[Card], batch: str, user) -> None:
    """The print history of a run, all or nothing, once per batch: a print job run again after its worker died
    (before or after this commit) records its cards once."""
    with transaction.atomic():
        if CardPrint.objects.filter(batch=batch[:40]).exists():
            return
        CardPrint.objects.bulk_create([CardPrint(card=c, batch=batch[:40], printed_by=user) for c in cards],
                                      batch_size=2000)
        fault_point("card-print")  # tests only: a SIGKILL lands here, inside the recording's transaction


def on_household_merged(sender, *, survivor: Household, merged: Household, user=None, **kwargs) -> None:
    """Inside the merge (which holds both households): the merged household's card is revoked (its token
    names the old number), its open entitlements cancelled and the stock reserved for them released;
    re-generating gives the survivor what its new size entitles it to."""
    for card in lock_rows(Card.objects.filter(household=merged, status=CardStatus.ACTIVE), rank=Rank.CARD):
        _end_card(card=card, status=CardStatus.REVOKED, note=f"merged into {survivor.number}", user=user)
    open_ = _lock_entitlements(Entitlement.objects.filter(household=merged, status__in=COLLECTABLE))
    Entitlement.objects.filter(pk__in=[e.pk for e in open_]).update(
        status=EntitlementStatus.CANCELLED, updated_at=timezone.now())
    _reservations_trim(places={(e.cycle_id, e.site_id) for e in open_}, user=user)


# --- households leave, move and come back (receivers of the registry's lifecycle signals) -----------------------


def _end_cards(*, household_ids: list[int], status: str, note: str, user) -> list[Card]:
    cards = lock_rows(Card.objects.filter(household_id__in=household_ids, status=CardStatus.ACTIVE), rank=Rank.CARD)
    rows_set(cards, values={"status": status, "status_reason": note[:200], "status_changed_at": timezone.now()},
             user=user)
    return cards


def _cards_reissue(*, households: list[Household], user) -> list[Card]:
    """The next generation of card for each household (its token names the household's site now)."""
    last = dict(Card.objects.filter(household_id__in=[h.pk for h in households]).values_list("household_id")
                .annotate(g=Max("generation")).values_list("household_id", "g"))
    return [_new_card(household=h, generation=last.get(h.pk, 0) + 1, user=user)
            for h in sorted(households, key=lambda h: h.pk)]


def _reservations_trim(*, places: set[tuple[int, int]], user) -> None:
    """After entitlements of these (cycle, site) places were cancelled or moved away: release what their
    reservation holds beyond what is still to collect there. Never reserves more (an event closed since has
    released its stock on purpose; the next event reserves again)."""
    for cycle_id, site_id in sorted(places):
        cycle_site = CycleSite.objects.select_related("warehouse", "site", "cycle").filter(
            cycle_id=cycle_id, site_id=site_id).first()
        if cycle_site is None:
            continue
        reference = cycle_site.cycle.reservation_reference(cycle_site.site.code)
        held = inventory_selectors.reserved_by_item(warehouse_id=cycle_site.warehouse_id, reference=reference)
        if not held:
            continue
        need = dict(Entitlement.objects.filter(cycle_id=cycle_id, site_id=site_id, status__in=COLLECTABLE,
                                               item_id__in=list(held))
                    .values_list("item_id").annotate(total=Sum(F("qty") - F("qty_collected")))
                    .values_list("item_id", "total"))
        over = sorted(item_id for item_id, qty in held.items() if qty > (need.get(item_id) or 0))
        items = Item.objects.in_bulk(over)
        for item_id in over:
            inventory.reservation_set(warehouse=cycle_site.warehouse, item=items[item_id], reference=reference,
                                      qty=need.get(item_id) or 0, user=user)


def _reservations_top_up(*, places: set[tuple[int, int]], user) -> None:
    """Entitlements moved into these (cycle, site) places: reserve for them where an event there is still to
    come or open (a shortfall is left for the event's opening to report, as at generation)."""
    for cycle_id, site_id in sorted(places):
        if not DistributionEvent.objects.filter(cycle_id=cycle_id, site_id=site_id,
                                                status__in=[EventStatus.PLANNED, EventStatus.OPEN]).exists():
            continue
        cycle = DistributionCycle.objects.get(pk=cycle_id)
        _reservations_sync(cycle=cycle, user=user, site_ids=[site_id])


def households_left_carry(*, households: list[Household], user, note: str = "", reason: str = "") -> None:
    """Receiver of ``households_left`` (after shelter's, in the same transaction): the active card is revoked,
    so it scans as revoked online and is listed revoked in offline manifests; whatever is still to collect is
    cancelled and its reserved stock released. What was handed over stays as it was."""
    ids = [h.pk for h in households]
    _end_cards(household_ids=ids, status=CardStatus.REVOKED, note=note or f"household left ({reason})", user=user)
    open_ = _lock_entitlements(Entitlement.objects.filter(household_id__in=ids, status__in=COLLECTABLE))
    if not open_:
        return
    Entitlement.objects.filter(pk__in=[e.pk for e in open_]).update(status=EntitlementStatus.CANCELLED,
                                                                     updated_at=timezone.now())
    _reservations_trim(places={(e.cycle_id, e.site_id) for e in open_}, user=user)


def households_transferred_carry(*, households: list[Household], from_site_ids: dict[int, int], user,
                                 note: str = "") -> None:
    """Receiver of ``households_transferred``: the card naming the old site is revoked and a new one issued for
    the new site; what is still to collect follows the household where its cycle serves the new site (and is
    reserved there if an event is to come), else it is cancelled; the old site's reservation is trimmed."""
    ids = [h.pk for h in households]
    _end_cards(household_ids=ids, status=CardStatus.REPLACED, note=note or "transferred to another site", user=user)
    _cards_reissue(households=[h for h in households if h.status == HouseholdStatus.ACTIVE], user=user)
    open_ = _lock_entitlements(Entitlement.objects.filter(household_id__in=ids, status__in=COLLECTABLE))
    if not open_:
        return
    new_site = {h.pk: h.site_id for h in households}
    served = set(CycleSite.objects.filter(cycle_id__in={e.cycle_id for e in open_},
                                          site_id__in=set(new_site.values())).values_list("cycle_id", "site_id"))
    now = timezone.now()
    moved, cancelled = [], []
    for e in open_:
        target = new_site[e.household_id]
        (moved if (e.cycle_id, target) in served else cancelled).append(e)
    left_places = {(e.cycle_id, e.site_id) for e in open_}
    for site_id in {new_site[e.household_id] for e in moved}:
        here = [e for e in moved if new_site[e.household_id] == site_id]
        for e in here:
            e.site_id = site_id
        Entitlement.objects.filter(pk__in=[e.pk for e in here]).update(site_id=site_id, updated_at=now)
    Entitlement.objects.filter(pk__in=[e.pk for e in cancelled]).update(status=EntitlementStatus.CANCELLED,
                                                                        updated_at=now)
    _reservations_trim(places=left_places, user=user)
    _reservations_top_up(places={(e.cycle_id, e.site_id) for e in moved}, user=user)


def households_reactivated_carry(*, households: list[Household], user) -> None:
    """Receiver of ``households_reactivated``: a new card (the old one was revoked when it left)."""
    have = set(Card.objects.filter(household_id__in=[h.pk for h in households], status=CardStatus.ACTIVE)
               .values_list("household_id", flat=True))
    _cards_reissue(households=[h for h in households if h.pk not in have], user=user)


# --- verify and redeem ---------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    verdict: str
    message: str
    household: dict | None = None
    entitlements: list[dict] = field(default_factory=list)
    collectors: list[dict] = field(default_factory=list)
    collected: dict | None = None
    reason: str = ""
    redemption: dict | None = None
    # True when a retried client_id found its first answer.
    replayed: bool = False
    card_serial: str = ""
    household_id: int | None = None

    def as_dict(self) -> dict:
        out = {"verdict": self.verdict, "message": self.message, "household": self.household,
               "entitlements": self.entitlements}
        if self.verdict == "invalid":
            out["reason"] = self.reason
        if self.collectors:
            out["collectors"] = self.collectors
        if self.collected is not None:
            out["collected"] = self.collected
        if self.redemption is not None:
            out["redemption"] = self.redemption
        return out


INVALID_MESSAGES = {
    "unreadable": gettext_lazy("Not a Relief card code."),
    "malformed": gettext_lazy("The code is damaged or not in the card format."),
    "bad_signature": gettext_lazy("Forged or altered card: the signature does not match."),
    "unknown_key": gettext_lazy("Card signed by an unknown key."),
    "retired_key": gettext_lazy("Card signed by a retired key: replace the card."),
    "oversized": gettext_lazy("The code is far too long to be a card."),
    "unknown_card": gettext_lazy("This card is not in the register."),
}


def _invalid(reason: str) -> ScanResult:
    return ScanResult(verdict="invalid", reason=reason, message=str(INVALID_MESSAGES[reason]))


def _card_for(code: str) -> tuple[Card | None, ScanResult | None]:
    try:
        token = cardtoken.decode(code)
    except cardtoken.CardTokenInvalid as exc:
        return None, _invalid(exc.reason)
    card = (Card.objects.select_related("household__site", "household__block")
            .filter(serial=token.claims.serial).first())
    if card is None or card.generation != token.claims.generation or card.household.number != token.claims.household:
        return None, _invalid("unknown_card")
    if card.status != CardStatus.ACTIVE:
        return card, ScanResult(verdict="revoked", card_serial=card.serial, message=_(
            "Card %(serial)s is %(status)s and no longer valid.") % {
            "serial": card.serial, "status": card.get_status_display()})
    return card, None


def initials(name: str) -> str:
    """The team checks a collector against their document; the scan shows no more than initials."""
    return "".join(f"{word[0].upper()}." for word in name.split()[:3])


def _identity(household: Household) -> dict:
    household = Household.objects.select_related("site", "block").prefetch_related("members").get(pk=household.pk)
    return household_identity(household)


def _collected_info(entitlements: list[Entitlement]) -> dict | None:
    line = (RedemptionLine.objects.select_related("redemption__event__distribution_point")
            .filter(entitlement__in=[e.pk for e in entitlements]).order_by("redemption__scanned_at").first())
    if line is None:
        return None
    r = line.redemption
    return {"at": r.scanned_at.isoformat(), "event": r.event.number, "where": r.event.distribution_point.name,
            "lane": r.lane, "redemption": r.pk}


def _judge(*, card: Card, event: DistributionEvent, entitlements: list[Entitlement], details: bool = True
           ) -> ScanResult:
    """The verdict; without ``details`` an entitled answer skips the identity and collectors (redeem's fast path)."""
    base = {"card_serial": card.serial, "household_id": card.household_id}
    if event.status != EventStatus.OPEN:
        return ScanResult(verdict="wrong_event", message=_("Event %(number)s is not open for scanning.")
                          % {"number": event.number}, **base)
    live = [e for e in entitlements if e.status != EntitlementStatus.CANCELLED]
    if not live:
        return ScanResult(verdict="not_entitled", household=_identity(card.household), **base,
                          message=_("Nothing to collect for this household in %(cycle)s.")
                          % {"cycle": event.cycle.name})
    if all(e.site_id != event.site_id for e in live):
        return ScanResult(verdict="wrong_event", household=_identity(card.household), **base,
                          message=_("This household collects at another site's distribution."))
    open_ = _collectable(event, live)
    if not open_ and event.owed_only and _collectable(event, live, owed_only=False):
        return ScanResult(verdict="not_entitled", household=_identity(card.household), **base,
                          message=_("This mop-up serves owed items only; this household owes nothing."))
    if not open_:
        collected = _collected_info(live)
        when = timezone.localtime(datetime.fromisoformat(collected["at"])) if collected else None
        return ScanResult(verdict="already_collected", household=_identity(card.household), collected=collected,
                          **base, message=_("Already collected on %(when)s at %(where)s, lane %(lane)s.") % {
                              "when": f"{when:%d %b %H:%M}" if when else "?",
                              "where": collected["where"] if collected else "?",
                              "lane": collected["lane"] if collected else "?"})
    if not details:
        return ScanResult(verdict="entitled", message="", **base)
    collectors = [{"id": c.pk, "initials": initials(c.name), "relationship": c.relationship}
                  for c in AlternateCollector.objects.filter(household_id=card.household_id, active=True)
                  .order_by("pk")]
    # What the point holds of each item now, so the team sees at once what it can hand over.
    held = inventory_selectors.on_hand_by_item(warehouse_id=event.distribution_point_id,
                                               item_ids=[e.item_id for e in open_])
    lines = [{"item": e.item.code, "name": e.item.name, "qty": e.qty_outstanding,
              "owed": e.status == EntitlementStatus.OWED, "available": held.get(e.item_id) or 0} for e in open_]
    short = [ln for ln in lines if ln["available"] < ln["qty"]]
    message = _("Entitled: hand over the items listed.")
    if short:
        message = _("Entitled, but the point holds less than owed of %(items)s: hand over what it holds; "
                    "the rest stays owed.") % {"items": ", ".join(ln["name"] for ln in short)}
    return ScanResult(
        verdict="entitled", household=_identity(card.household), collectors=collectors, **base,
        entitlements=lines, message=message)


def _collectable(event: DistributionEvent, entitlements: list[Entitlement], *, owed_only: bool | None = None
                 ) -> list[Entitlement]:
    """What this event may hand over: open and owed lines of its site; a mop-up, owed lines only."""
    owed_only = event.owed_only if owed_only is None else owed_only
    statuses = (EntitlementStatus.OWED,) if owed_only else COLLECTABLE
    return [e for e in entitlements if e.status in statuses and e.site_id == event.site_id]


def _entitlements(event: DistributionEvent, card: Card, *, lock: bool) -> list[Entitlement]:
    qs = Entitlement.objects.filter(cycle_id=event.cycle_id, household_id=card.household_id)
    if lock:
        rows = _lock_entitlements(qs)
        items = Item.objects.in_bulk({e.item_id for e in rows})
        for e in rows:
            e.item = items[e.item_id]
        return rows
    return list(qs.select_related("item").order_by("pk"))


def scan_verify(*, code: str, event: DistributionEvent) -> ScanResult:
    """What the household may collect at this event, or why not. Reads only."""
    card, refused = _card_for(code)
    if refused is not None:
        return refused
    return _judge(card=card, event=event, entitlements=_entitlements(event, card, lock=False))


def _redemption_dict(redemption: Redemption, lines: list[RedemptionLine] | None = None) -> dict:
    if lines is None:
        lines = list(redemption.lines.select_related("item").order_by("pk"))
    return {
        "id": redemption.pk, "client_id": redemption.client_id, "event": redemption.event_id,
        "household": redemption.household.number,
        "card": redemption.card.serial, "lane": redemption.lane, "collector": redemption.collector,
        "alternate_collector": redemption.alternate_collector_id, "scanned_at": redemption.scanned_at.isoformat(),
        "recorded_at": redemption.recorded_at.isoformat(), "source": redemption.source,
        "partial": redemption.is_partial,
        "lines": [{"item": ln.item.code, "name": ln.item.name, "entitled": ln.qty_entitled, "qty": ln.qty_handed,
                   "reason": ln.short_reason} for ln in lines],
    }


def _code_serial(code: str) -> str | None:
    try:
        return cardtoken.decode(code).claims.serial
    except cardtoken.CardTokenInvalid:
        return None


CLIENT_ID_REUSED = gettext_lazy("this client id was already used for another scan (another event, user or card); "
                                "make a new one for each scan")


def _first_answer(client_id: str, *, event: DistributionEvent, user, code: str) -> ScanResult | None:
    """The answer already given to ``client_id``, or None. A client id is bound to the event, the device's user
    and the card of its first scan: the same id with any other is refused, never answered with that scan."""
    redemption = Redemption.objects.select_related("card", "household").filter(client_id=client_id).first()
    if redemption is None:
        return None
    if (redemption.event_id != event.pk or redemption.user_id != getattr(user, "pk", None)
            or redemption.card.serial != _code_serial(code)):
        raise ValidationError({"client_id": str(CLIENT_ID_REUSED)})
    return ScanResult(verdict="redeemed", message=_("Recorded."), redemption=_redemption_dict(redemption),
                      replayed=True, card_serial=redemption.card.serial, household_id=redemption.household_id)


@dataclass(frozen=True)
class HandOverLine:
    item: str
    qty: int
    reason: str = ""


def _clean_lines(open_: list[Entitlement], lines: list[HandOverLine] | None) -> list[tuple[Entitlement, int, str]]:
    by_code = {e.item.code: e for e in open_}
    given: dict[str, HandOverLine] = {}
    errors = {}
    for n, line in enumerate(lines or ()):
        if line.item not in by_code:
            errors[f"lines.{n}.item"] = _("%(item)s is not an item this household may collect") % {"item": line.item}
        elif line.item in given:
            errors[f"lines.{n}.item"] = _("%(item)s is given twice") % {"item": line.item}
        elif not 0 <= line.qty <= by_code[line.item].qty_outstanding:
            errors[f"lines.{n}.qty"] = _("give 0 to %(max)d") % {"max": by_code[line.item].qty_outstanding}
        elif line.qty < by_code[line.item].qty_outstanding and line.reason not in ShortReason.values:
            errors[f"lines.{n}.reason"] = _("say why less is handed over: %(reasons)s") % {
                "reasons": ", ".join(ShortReason.values)}
        else:
            given[line.item] = line
    if errors:
        raise ValidationError(errors)
    out = []
    for e in open_:
        line = given.get(e.item.code)
        qty = e.qty_outstanding if line is None else line.qty
        out.append((e, qty, "" if qty == e.qty_outstanding else line.reason))
    return out


def _share_lock_event_status(event_id: int) -> str:
    """The event's status under a shared lock: redemptions run side by side, closing the event waits for them."""
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT status FROM distribution_distributionevent WHERE id = %s LOCK IN SHARE MODE",
                           [event_id])
            return cursor.fetchone()[0]
    return DistributionEvent.objects.filter(pk=event_id).values_list("status", flat=True).get()


@retry_on_deadlock
def redemption_record(
    *,
    code: str,
    event: DistributionEvent,
    client_id: str,
    user,
    lane: int = 1,
    collector: str = Collector.HEAD,
    alternate_collector_id: int | None = None,
    lines: list[HandOverLine] | None = None,
    scanned_at: datetime | None = None,
    source: str = Source.ONLINE,
    exception: TableException | None = None,
) -> ScanResult:
    """Record a hand-over and issue its stock, all in one transaction; verdict ``redeemed`` or why not.

    Idempotent by ``client_id``: a retry gets the first answer and nothing more is handed over. A hand-over by
    exception (``exception``, approved: see ``redemption_record_exception``) records its reason and approver.
    """
    errors = {}
    if not client_id or len(client_id) > 64:
        errors["client_id"] = _("give a client id of 1 to 64 characters")
    if not 1 <= lane <= event.lanes:
        errors["lane"] = _("this event has lanes 1 to %(lanes)d") % {"lanes": event.lanes}
    if collector not in Collector.values:
        errors["collector"] = _("head or alternate")
    elif (collector == Collector.ALTERNATE) != (alternate_collector_id is not None):
        errors["collector"] = _("name the alternate collector (and only for collector 'alternate')")
    if errors:
        raise ValidationError(errors)
    first = _first_answer(client_id, event=event, user=user, code=code)
    if first is not None:
        return first
    card, refused = _card_for(code)
    if refused is not None:
        return refused
    with transaction.atomic():
        event.status = _share_lock_event_status(event.pk)
        # The card row is locked too: a card revoked or replaced since it was read no longer redeems.
        card.status = _lock_card(card.pk, "id", "status").status
        if card.status != CardStatus.ACTIVE:
            return _card_for(code)[1]
        entitlements = _entitlements(event, card, lock=True)
        result = _judge(card=card, event=event, entitlements=entitlements, details=False)
        if result.verdict != "entitled":
            # A retry of the same client_id that waited on our locks finds the first one's commit here.
            return (_first_answer(client_id, event=event, user=user, code=code)
                    or _judge(card=card, event=event, entitlements=entitlements))
        if alternate_collector_id is not None and not AlternateCollector.objects.filter(
                pk=alternate_collector_id, household_id=card.household_id, active=True).exists():
            raise ValidationError({"collector": _("not a registered alternate collector of this household")})
        open_ = _collectable(event, entitlements)
        handed = _clean_lines(open_, lines)
        try:
            with transaction.atomic():
                redemption = Redemption.objects.create(
                    event=event, household_id=card.household_id, card=card, client_id=client_id, lane=lane, user=user,
                    collector=collector, alternate_collector_id=alternate_collector_id,
                    scanned_at=scanned_at or timezone.now(), source=source,
                    is_partial=any(qty < e.qty_outstanding for e, qty, _r in handed),
                    exception_reason=exception.reason if exception else "",
                    exception_note=exception.note if exception else "",
                    approved_by=exception.approver if exception else None)
        except IntegrityError:
            # The same client_id on another card, recorded a moment ago: the first answer stands.
            first = _first_answer(client_id, event=event, user=user, code=code)
            if first is None:
                raise
            return first
        fault_point("redemption")  # tests only: a SIGKILL lands here, inside the hand-over's transaction
        before = dict(RedemptionLine.objects.filter(entitlement__in=[e.pk for e, _q, _r in handed])
                      .values_list("entitlement_id").annotate(n=Count("pk")).values_list("entitlement_id", "n"))
        made = RedemptionLine.objects.bulk_create([
            RedemptionLine(redemption=redemption, entitlement=e, handover_no=before.get(e.pk, 0) + 1, item=e.item,
                           qty_entitled=e.qty_outstanding, qty_handed=qty, short_reason=reason)
            for e, qty, reason in handed])
        _entitlements_collected(handed)
        reference = event.cycle.reservation_reference(event.site.code)
        picked = inventory.stock_issue_for_voucher(
            warehouse=event.distribution_point, lines=[(e.item, qty) for e, qty, _r in handed if qty],
            voucher_type=VOUCHER_REDEMPTION, voucher_no=redemption.voucher_no, user=user,
            reservation_reference=reference)
        line_of = {ln.item_id: ln for ln in made}
        RedemptionLot.objects.bulk_create([RedemptionLot(line=line_of[lot.item_id], lot=lot, qty=qty)
                                           for lot, qty in picked])
    # Built from the rows in hand, after the commit: the bins are not held while the answer is written.
    redemption.card = card
    redemption.household = card.household
    return ScanResult(verdict="redeemed", message=_("Recorded: hand over the items."),
                      redemption=_redemption_dict(redemption, lines=made), card_serial=card.serial,
                      household_id=card.household_id)


def _entitlements_collected(handed: list[tuple[Entitlement, int, str]]) -> None:
    """Count what was handed over; a line short for want of stock (or a damaged item) stays owed, the rest close.

    The rows are locked by the caller; each is written with its own values (a handful per household).
    """
    now = timezone.now()
    for e, qty, reason in handed:
        owed = qty < e.qty_outstanding and reason in OWED_REASONS
        e.qty_collected += qty
        e.status = EntitlementStatus.OWED if owed else EntitlementStatus.REDEEMED
        e.updated_at = now
        e.save(update_fields=["qty_collected", "status", "updated_at"])


# --- the exception lane: no card scanned, a supervisor approves -----------------------------------------------


@dataclass(frozen=True)
class TableException:
    reason: str
    approver: object  # the approving user, already checked by ``exception_approver``
    note: str = ""


PIN_TRIES = 5
PIN_LOCK_SECONDS = 15 * 60


def approval_pin_set(*, user, pin: str) -> None:
    """A supervisor sets their own PIN (6 to 12 digits)."""
    if not user.has_perm("distribution.approve_exception"):
        raise PermissionDenied
    if not (pin.isdigit() and 6 <= len(pin) <= 12):
        raise ValidationError({"pin": _("give 6 to 12 digits")})
    with transaction.atomic():
        ApprovalPin.objects.update_or_create(user=user, defaults={"pin_hash": make_password(pin),
                                                                  "set_at": timezone.now()})


def exception_approver(*, event: DistributionEvent, user, username: str = "", pin: str = "", token: str = ""):
    """The supervisor approving an exception at the table, by username and PIN or by their device token.

    A second person: never the user at the table; with the right to approve and work at the event's site.
    Five wrong PINs for one username lock it for 15 minutes.
    """
    from django.contrib.auth import get_user_model

    from relief.core.services import api_token_user

    refused = ValidationError({"approver": _("a supervisor's username and PIN, or their device token, are needed")})
    if token:
        approver = api_token_user(token)
        if approver is None:
            raise ValidationError({"approver": _("that device token is not valid")})
    elif username and pin:
        lock_key = f"relief:approval-pin:{username.lower()}"
        tries = cache.get(lock_key, 0)
        if tries >= PIN_TRIES:
            raise ValidationError({"approver": _("too many wrong PINs for %(user)s: wait 15 minutes")
                                   % {"user": username}})
        approver = get_user_model().objects.filter(username=username, is_active=True).first()
        stored = ApprovalPin.objects.filter(user=approver).first() if approver else None
        if stored is None or not check_password(pin, stored.pin_hash):
            cache.set(lock_key, tries + 1, PIN_LOCK_SECONDS)
            raise ValidationError({"approver": _("wrong username or PIN")})
        cache.delete(lock_key)
    else:
        raise refused
    if approver.pk == user.pk:
        raise ValidationError({"approver": _("a second person approves: not the one at the table")})
    if not approver.is_active or not approver.has_perm("distribution.approve_exception"):
        raise ValidationError({"approver": _("%(user)s may not approve exceptions") % {"user": approver}})
    sites = access.site_ids_for(approver)
    if sites is not None and event.site_id not in sites:
        raise ValidationError({"approver": _("%(user)s does not work at %(site)s") % {
            "user": approver, "site": event.site.code}})
    return approver


def _household_at_table(*, event: DistributionEvent, user, number: str) -> Household:
    """A household of the event's site that the user's role may read, or a clear refusal."""
    sites = access.site_ids_for(user)
    household = Household.objects.select_related("site").filter(number=number, site_id=event.site_id).first()
    if household is None or (sites is not None and household.site_id not in sites):
        raise ValidationError({"household": _("no household %(number)s at this event's site") % {"number": number}})
    return household


def redemption_record_exception(*, event: DistributionEvent, household_number: str, client_id: str, user,
                                reason: str, note: str = "", approver_username: str = "", approver_pin: str = "",
                                approver_token: str = "", lane: int = 1, collector: str = Collector.HEAD,
                                alternate_collector_id: int | None = None,
                                lines: list[HandOverLine] | None = None) -> ScanResult:
    """Hand over without a card scan, approved by a supervisor: the household's active card is judged as if it
    had been scanned, and the redemption records the reason, the note and the approver."""
    if reason not in ExceptionReason.values:
        raise ValidationError({"reason": _("choose why no card is scanned: %(reasons)s") % {
            "reasons": ", ".join(ExceptionReason.values)}})
    if reason == ExceptionReason.OTHER and not note.strip():
        raise ValidationError({"note": _("say what happened")})
    household = _household_at_table(event=event, user=user, number=household_number)
    approver = exception_approver(event=event, user=user, username=approver_username, pin=approver_pin,
                                  token=approver_token)
    card = Card.objects.filter(household=household, status=CardStatus.ACTIVE).first()
    if card is None:
        raise ValidationError({"household": _("%(number)s has no active card: replace it first") % {
            "number": household.number}})
    return redemption_record(code=card.code, event=event, client_id=client_id, user=user, lane=lane,
                             collector=collector, alternate_collector_id=alternate_collector_id, lines=lines,
                             exception=TableException(reason=reason, approver=approver, note=note.strip()[:200]))


def card_replace_at_table(*, event: DistributionEvent, household_number: str, reason: str, user,
                          approver_username: str = "", approver_pin: str = "", approver_token: str = "") -> Card:
    """A lost or damaged card replaced at the table: the old card is revoked at once (it never verifies again,
    online or, after the next manifest, offline) and the next generation issued, ready to print as one card.
    Registration Officers and Administrators replace on their own; anyone else needs a supervisor's approval."""
    if reason not in (CardStatus.LOST, CardStatus.DAMAGED):
        raise ValidationError({"reason": _("choose lost or damaged")})
    household = _household_at_table(event=event, user=user, number=household_number)
    if not has_role(user, *access.CARD_ROLES):
        approver = exception_approver(event=event, user=user, username=approver_username, pin=approver_pin,
                                      token=approver_token)
        note = f"replaced at {event.number}, approved by {approver.get_username()}"
    else:
        note = f"replaced at {event.number}"
    card = Card.objects.filter(household=household, status=CardStatus.ACTIVE).first()
    if card is None:
        raise ValidationError({"household": _("%(number)s has no active card to replace") % {
            "number": household.number}})
    return card_replace(card=card, reason=reason, user=user, note=note)


# --- offline sync ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineScan:
    client_id: str
    code: str
    scanned_at: datetime
    lane: int = 1
    collector: str = Collector.HEAD
    alternate_collector_id: int | None = None
    lines: tuple[HandOverLine, ...] | None = None


def _known(scan: OfflineScan, *, event: DistributionEvent, user) -> dict | None:
    """What an earlier upload (or an online redeem) made of this client id; refused if it was another scan's."""
    redemption = (Redemption.objects.filter(client_id=scan.client_id)
                  .values("pk", "event_id", "user_id", "card__serial").first())
    if redemption is not None:
        if (redemption["event_id"], redemption["user_id"], redemption["card__serial"]) != (
                event.pk, user.pk, _code_serial(scan.code)):
            return _entry_invalid("client_id", str(CLIENT_ID_REUSED))
        return {"status": "duplicate", "redemption": redemption["pk"]}
    issue = (SyncIssue.objects.filter(client_id=scan.client_id)
             .values("kind", "reason", "event_id", "synced_by_id", "card_serial").first())
    if issue is not None:
        serial = _code_serial(scan.code)
        if (issue["event_id"], issue["synced_by_id"]) != (event.pk, user.pk) or (
                issue["card_serial"] and issue["card_serial"] != serial):
            return _entry_invalid("client_id", str(CLIENT_ID_REUSED))
        return {"status": "duplicate", "was": issue["kind"], "reason": issue["reason"]}
    return None


def _entry_invalid(field_name: str, message: str) -> dict:
    return {"status": SYNC_INVALID, "reason": f"{field_name}: {message}",
            "errors": [{"field": field_name, "message": message}]}


def _sync_issue(*, event, scan: OfflineScan, kind: str, reason: str, result: ScanResult | None, user) -> dict:
    standing = (result.collected or {}).get("redemption") if result else None
    try:
        with transaction.atomic():
            SyncIssue.objects.create(
                event=event, client_id=scan.client_id, kind=kind, reason=reason[:40],
                card_serial=result.card_serial if result else "", household_id=result.household_id if result else None,
                standing_id=standing, lane=scan.lane, scanned_at=scan.scanned_at, synced_by=user)
    except IntegrityError:
        return _known(scan, event=event, user=user) or {"status": "duplicate"}
    out = {"status": kind, "reason": reason}
    if standing:
        out["standing"] = result.collected
    return out


# Statuses of a sync answer. The first four are final (the server recorded the scan or its issue): the device
# drops them. ``invalid`` (the entry itself is malformed, nothing recorded) and ``deferred`` (not judged in this
# upload: beyond the batch cap or the upload's sync-issue limit; send it again) stay on the device.
SYNC_FINAL = ("accepted", "duplicate", "conflict", "rejected")
SYNC_INVALID = "invalid"
SYNC_DEFERRED = "deferred"


def scanned_at_problem(*, event: DistributionEvent, scanned_at: datetime, now: datetime | None = None) -> str | None:
    """Why an offline scan's time cannot be true, or None: before the event's day (less the tolerance) or later
    than now plus the device-clock tolerance."""
    limits = settings.RELIEF_LIMITS
    now = now or timezone.now()
    day_start = timezone.make_aware(datetime.combine(event.date, time.min))
    earliest = min(day_start, event.opened_at or day_start) - timedelta(hours=limits["sync_event_tolerance_hours"])
    latest = now + timedelta(seconds=limits["sync_clock_tolerance_seconds"])
    try:
        if scanned_at > latest:
            return _("%(at)s is in the future (the device clock is wrong?); at most %(s)d s ahead is taken") % {
                "at": scanned_at.isoformat(), "s": limits["sync_clock_tolerance_seconds"]}
        if scanned_at < earliest:
            return _("%(at)s is before event %(number)s (%(date)s)") % {
                "at": scanned_at.isoformat(), "number": event.number, "date": event.date.isoformat()}
    except OverflowError:
        return _("not a real date and time")
    return None


def event_sync(*, event: DistributionEvent, scans: list[OfflineScan], user) -> list[dict]:
    """Take an offline scanner's queue, judged entry by entry, each in its own transaction: accepted, duplicate,
    conflict or rejected (recorded), invalid (a scan time outside the event, a client id of another scan:
    nothing recorded) or deferred (send again). Within a batch the earliest scan of an entitlement is recorded
    first, so it stands. At most ``sync_batch`` scans are judged and at most ``sync_issues_per_upload``
    conflicts and rejections recorded per upload; the rest are deferred."""
    limits = settings.RELIEF_LIMITS
    results: dict[int, dict] = {}
    now = timezone.now()
    for n in range(limits["sync_batch"], len(scans)):
        results[n] = {"client_id": scans[n].client_id, "status": SYNC_DEFERRED, "reason": "sync_batch"}
    judged = []
    for n in range(min(len(scans), limits["sync_batch"])):
        # Checked before sorting by time: a year-1 time would not even compare with the others.
        problem = scanned_at_problem(event=event, scanned_at=scans[n].scanned_at, now=now)
        if problem:
            results[n] = {"client_id": scans[n].client_id, **_entry_invalid("scanned_at", problem)}
        else:
            judged.append(n)
    issues = 0
    for n in sorted(judged, key=lambda n: (scans[n].scanned_at, n)):
        scan = scans[n]
        if issues >= limits["sync_issues_per_upload"]:
            results[n] = {"client_id": scan.client_id, "status": SYNC_DEFERRED, "reason": "sync_issues_per_upload"}
            continue
        known = _known(scan, event=event, user=user)
        if known is not None:
            results[n] = {"client_id": scan.client_id, **known}
            continue
        try:
            result = redemption_record(
                code=scan.code, event=event, client_id=scan.client_id, user=user, lane=scan.lane,
                collector=scan.collector, alternate_collector_id=scan.alternate_collector_id,
                lines=list(scan.lines) if scan.lines is not None else None, scanned_at=scan.scanned_at,
                source=Source.OFFLINE)
        except (ValidationError, DocumentError) as exc:
            detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            issues += 1
            results[n] = {"client_id": scan.client_id, **_sync_issue(
                event=event, scan=scan, kind=SyncIssue.Kind.REJECTED, reason=detail, result=None, user=user)}
            continue
        if result.verdict == "redeemed":
            status = "duplicate" if result.replayed else "accepted"
            results[n] = {"client_id": scan.client_id, "status": status, "redemption": result.redemption["id"]}
        elif result.verdict == "already_collected":
            issues += 1
            results[n] = {"client_id": scan.client_id, **_sync_issue(
                event=event, scan=scan, kind=SyncIssue.Kind.CONFLICT, reason="already_collected", result=result,
                user=user)}
        else:
            issues += 1
            reason = result.verdict if result.verdict != "invalid" else f"invalid:{result.reason}"
            results[n] = {"client_id": scan.client_id, **_sync_issue(
                event=event, scan=scan, kind=SyncIssue.Kind.REJECTED, reason=reason, result=result, user=user)}
    return [results[n] for n in range(len(scans))]


def sync_issue_resolve(*, issue: SyncIssue, user, resolution: str) -> SyncIssue:
    if not resolution.strip():
        raise ValidationError({"resolution": _("say what was done")})
    with transaction.atomic():
        issue = lock_rows(SyncIssue.objects.filter(pk=issue.pk))[0]
        issue.resolution, issue.resolved_by, issue.resolved_at = resolution.strip()[:200], user, timezone.now()
        issue._history_user = user
        issue.save(update_fields=["resolution", "resolved_by", "resolved_at"])
        return issue


# --- the lifecycle of a cycle: the API, pages and desk all submit and cancel here ------------------------------


def cycle_submit(*, cycle: DistributionCycle, user: AbstractBaseUser) -> DistributionCycle:
    """Submit a cycle: its entitlements are generated and stock reserved (``cycle_first_generation``)."""
    return document_submit(document=cycle, user=user)


def cycle_cancel(*, cycle: DistributionCycle, user: AbstractBaseUser, reason: str) -> DistributionCycle:
    """Cancel a cycle: open entitlements withdrawn and reservations released (``cycle_withdraw``)."""
    return document_cancel(document=cycle, user=user, reason=reason)


document_lifecycle(DistributionCycle, post=lambda cycle, user: cycle_first_generation(cycle=cycle, user=user),
                   reverse=lambda cycle, user: cycle_withdraw(cycle=cycle, user=user))
