"""Reads for the scanning station, the API and reports."""

from __future__ import annotations

import base64
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core import signing
from relief.distribution.models import (
    COLLECTABLE,
    Card,
    CardStatus,
    DistributionEvent,
    Entitlement,
    EntitlementStatus,
    ExceptionReason,
    Redemption,
    RedemptionLine,
    RedemptionLot,
    SyncIssue,
)
from relief.distribution.services import initials
from relief.households.models import AlternateCollector, Household, Member
from relief.inventory.models import Item

MANIFEST_VERSION = 1


def event_summary(event: DistributionEvent) -> dict:
    return {"id": event.pk, "name": event.name, "number": event.number, "cycle": event.cycle.number,
            "date": event.date.isoformat(), "site": event.site.code,
            "distribution_point": event.distribution_point.code, "status": event.status, "lanes": event.lanes,
            "owed_only": event.owed_only}


def event_manifest(event: DistributionEvent) -> dict:
    """What a scanner needs to work offline: keys, revoked serials, entitlements by card serial, what is collected.

    Personal data is limited to what the team checks at the table (size, block, initials).
    """
    ents: dict[int, list] = defaultdict(list)
    rows = (Entitlement.objects.filter(cycle_id=event.cycle_id, site_id=event.site_id)
            .exclude(status=EntitlementStatus.CANCELLED)
            .values_list("household_id", "item__code", "qty", "qty_collected", "status").order_by("pk"))
    codes: set[str] = set()
    statuses = (EntitlementStatus.OWED,) if event.owed_only else COLLECTABLE
    for household_id, item, qty, qty_collected, status in rows.iterator(chunk_size=10000):
        ents[household_id].append((item, qty - qty_collected, status))
        codes.add(item)
    collected: dict[int, dict] = {}
    for household_id, at, lane in (Redemption.objects.filter(event__cycle_id=event.cycle_id,
                                                             household__site_id=event.site_id)
                                   .values_list("household_id", "scanned_at", "lane").order_by("scanned_at")):
        collected.setdefault(household_id, {"at": at.isoformat(), "lane": lane})
    # Whole-site queries rather than IN lists of thousands of ids; rows as tuples, no model instances but the
    # heads (whose initials the registry's own Member.initials gives).
    identity = {pk: {"number": number, "size": size, "block": block or ""}
                for pk, number, size, block in Household.objects.filter(site_id=event.site_id)
                .values_list("pk", "number", "size", "block__code").iterator(chunk_size=10000) if pk in ents}
    for head in (Member.objects.filter(household__site_id=event.site_id, is_head=True, active=True)
                 .only("household_id", "given_name", "family_name").iterator(chunk_size=10000)):
        if head.household_id in identity:
            identity[head.household_id]["head_initials"] = head.initials
    collectors: dict[int, list] = defaultdict(list)
    for pk, household_id, name, relationship in (AlternateCollector.objects.filter(
            household__site_id=event.site_id, active=True).values_list("pk", "household_id", "name",
                                                                      "relationship")):
        if household_id in ents:
            collectors[household_id].append({"id": pk, "initials": initials(name), "relationship": relationship})
    cards = {}
    for serial, generation, household_id in (Card.objects.filter(household__site_id=event.site_id,
                                                                 status=CardStatus.ACTIVE)
                                             .values_list("serial", "generation", "household_id")):
        who = identity.get(household_id)
        if who is None:
            continue
        entry = {"h": who["number"], "g": generation, "s": who["size"], "b": who["block"],
                 "i": who.get("head_initials", ""),
                 # [item, qty still to collect] and a third element 1 when it is owed from an earlier hand-over
                 "e": [[item, qty, 1] if status == EntitlementStatus.OWED else [item, qty]
                       for item, qty, status in ents[household_id] if status in statuses]}
        if household_id in collected:
            entry["c"] = collected[household_id]
        if collectors.get(household_id):
            entry["a"] = collectors[household_id]
        cards[serial] = entry
    # A household transferred away still carries its old site's card: that serial is revoked here too.
    mine = Q(household__site_id=event.site_id) | Q(serial__startswith=f"{event.site.code}-")
    revoked = list(Card.objects.filter(mine)
                   .exclude(status=CardStatus.ACTIVE).values_list("serial", flat=True).order_by("serial"))
    retired_keys = signing.retired_key_ids()
    return {
        "version": MANIFEST_VERSION,
        "event": event_summary(event),
        "generated_at": timezone.now().isoformat(),
        # Retired keys are left out of "keys" and listed in "retired": the page says retired_key for them.
        "keys": {kid.hex(): base64.b64encode(raw).decode() for kid, raw in signing.public_keys().items()
                 if kid not in retired_keys},
        "retired": sorted(kid.hex() for kid in retired_keys),
        "items": dict(Item.objects.filter(code__in=codes).values_list("code", "name")),
        "revoked": revoked,
        "cards": cards,
    }


def event_progress(event: DistributionEvent) -> dict:
    """Households served / expected, by block and by hour; items handed out vs planned; donors through lots."""
    live = Entitlement.objects.filter(cycle_id=event.cycle_id, site_id=event.site_id).exclude(
        status=EntitlementStatus.CANCELLED)
    expected = live.values("household_id").distinct().count()
    redemptions = Redemption.objects.filter(event=event)
    served = redemptions.values("household_id").distinct().count()
    people_served = Household.objects.filter(pk__in=redemptions.values("household_id")).aggregate(n=Sum("size"))["n"]
    by_block_expected = dict(live.values("household__block__code").annotate(n=Count("household_id", distinct=True))
                             .values_list("household__block__code", "n"))
    by_block_served = dict(redemptions.values("household__block__code")
                           .annotate(n=Count("household_id", distinct=True)).values_list("household__block__code", "n"))
    tz = timezone.get_current_timezone()
    by_hour = dict(redemptions.annotate(h=ExtractHour("scanned_at", tzinfo=tz)).values("h")
                   .annotate(n=Count("pk")).values_list("h", "n"))
    planned = dict(live.values("item__code").annotate(q=Sum("qty")).values_list("item__code", "q"))
    handed = dict(RedemptionLine.objects.filter(redemption__event=event).values("item__code")
                  .annotate(q=Sum("qty_handed")).values_list("item__code", "q"))
    names = dict(live.values_list("item__code", "item__name").distinct())
    donors = list(RedemptionLot.objects.filter(line__redemption__event=event)
                  .values("lot__grant__donor__code", "lot__grant__code", "lot__item__code")
                  .annotate(q=Sum("qty")).order_by("lot__grant__donor__code", "lot__item__code"))
    return {
        "event": event,
        "expected": expected,
        "served": served,
        "people_served": people_served or 0,
        "percent": round(100 * served / expected) if expected else 0,
        "blocks": [{"block": b or "—", "expected": n, "served": by_block_served.get(b, 0)}
                   for b, n in sorted(by_block_expected.items(), key=lambda kv: kv[0] or "")],
        "hours": [{"hour": h, "served": by_hour[h]} for h in sorted(by_hour)],
        "items": [{"item": code, "name": names.get(code, code), "planned": planned[code],
                   "handed_out": handed.get(code, 0)} for code in sorted(planned)],
        "donors": [{"donor": d["lot__grant__donor__code"] or "—", "grant": d["lot__grant__code"] or "—",
                    "item": d["lot__item__code"], "qty": d["q"]} for d in donors],
        "conflicts": SyncIssue.objects.filter(event=event).order_by("resolved_at", "-scanned_at"),
        "no_shows": expected - served,
        "owed": event_owed(event),
        "exceptions": [{"reason": ExceptionReason(reason).label, "lane": lane, "approver": approver, "n": n}
                       for reason, lane, approver, n in redemptions.exclude(exception_reason="")
                       .values_list("exception_reason", "lane", "approved_by__username").annotate(n=Count("pk"))
                       .order_by("exception_reason", "lane", "approved_by__username")],
    }


def event_owed(event: DistributionEvent) -> list[dict]:
    """Who is still owed what at this event's site in its cycle: household, item, quantity (no names)."""
    return [{"household": number, "block": block or "—", "item": name, "qty": qty - collected}
            for number, block, name, qty, collected in Entitlement.objects.filter(
                cycle_id=event.cycle_id, site_id=event.site_id, status=EntitlementStatus.OWED)
            .order_by("household__block__code", "household__number", "item__code")
            .values_list("household__number", "household__block__code", "item__name", "qty", "qty_collected")]


def event_no_shows(event: DistributionEvent) -> list[dict]:
    """Households with open entitlements at this event's site: number, block, size (no names)."""
    open_hh = (Entitlement.objects.filter(cycle_id=event.cycle_id, site_id=event.site_id,
                                          status=EntitlementStatus.OPEN).values("household_id"))
    return list(Household.objects.filter(pk__in=open_hh).order_by("block__code", "number")
                .values("number", "block__code", "size"))


HXL_HEADERS = [
    ("Organisation", "#org"), ("Region", "#adm1+name"), ("Camp", "#loc+camp+name"), ("Item", "#item+name"),
    ("Households reached", "#reached+hh"), ("Individuals reached", "#reached+ind"), ("Quantity", "#output+num"),
    ("Date", "#date"),
]


def event_export_rows(event: DistributionEvent) -> list[list]:
    """One row per item handed out at the event (4W style), under a header and an HXL hashtag row."""
    rows = []
    per_item = (RedemptionLine.objects.filter(redemption__event=event, qty_handed__gt=0)
                .values("item__name").annotate(hh=Count("redemption__household_id", distinct=True),
                                               qty=Sum("qty_handed"))
                .order_by("item__name"))
    for row in per_item:
        people = Household.objects.filter(
            pk__in=Redemption.objects.filter(event=event, lines__item__name=row["item__name"],
                                             lines__qty_handed__gt=0).values("household_id")
        ).aggregate(n=Sum("size"))["n"] or 0
        rows.append([settings.RELIEF_ORGANISATION, event.site.region, event.site.name, row["item__name"], row["hh"],
                     people, row["qty"], event.date.isoformat()])
    return rows


def card_filter(*, cycle_number: str | None = None, households: list[str] | None = None,
                site_code: str | None = None, site_ids: set[int] | None = None):
    """Households whose cards to print; each filter narrows."""
    qs = Household.objects.filter(status="active")
    if cycle_number:
        qs = qs.filter(pk__in=Entitlement.objects.filter(cycle__number=cycle_number)
                       .exclude(status=EntitlementStatus.CANCELLED).values("household_id"))
    if households:
        qs = qs.filter(number__in=households)
    if site_code:
        qs = qs.filter(site__code=site_code)
    if site_ids is not None:
        qs = qs.filter(site_id__in=site_ids)
    return qs.select_related("site", "block").order_by("site__code", "block__code", "number")


def household_card_sections(household: Household) -> list[dict]:
    """For the household page: its cards and its last collections, as (label, value) rows."""
    rows = [(_("Card %(serial)s · no. %(generation)s") % {"serial": serial, "generation": generation},
             f"{CardStatus(status).label} ({issued.isoformat()})")
            for serial, generation, status, issued in Card.objects.filter(household=household)
            .order_by("-generation").values_list("serial", "generation", "status", "issued_on")]
    for r in Redemption.objects.filter(household=household).select_related("event").order_by("-scanned_at")[:20]:
        rows.append((r.event.number, _("%(when)s, lane %(lane)s, %(kind)s") % {
            "when": timezone.localtime(r.scanned_at).strftime("%Y-%m-%d %H:%M"), "lane": r.lane,
            "kind": _("partial") if r.is_partial else _("full")}))
    return [{"title": _("Cards and collections"), "rows": rows}] if rows else []


def open_issue_count(event: DistributionEvent) -> int:
    return SyncIssue.objects.filter(event=event, resolved_at__isnull=True).count()


def household_lookup(*, event: DistributionEvent, query: str, site_ids: set[int] | None) -> list[dict]:
    """The exception lane's search: a household of the event's site by card serial, household number or UNHCR
    group id (exact, any case), within the sites the user's role may read; identity checks only, with what the
    household's active card would be told if it were scanned."""
    from django.db.models import Q

    from relief.distribution.services import scan_verify

    query = query.strip()
    if not 3 <= len(query) <= 40:
        return []
    if site_ids is not None and event.site_id not in site_ids:
        return []
    by_card = Card.objects.filter(serial__iexact=query).values("household_id")
    households = (Household.objects.filter(site_id=event.site_id)
                  .filter(Q(number__iexact=query) | Q(unhcr_group_id__iexact=query) | Q(pk__in=by_card))
                  .select_related("site", "block").order_by("number")[:10])
    found = []
    for household in households:
        card = Card.objects.filter(household=household, status=CardStatus.ACTIVE).first()
        verdict = scan_verify(code=card.code, event=event).as_dict() if card else None
        found.append({"number": household.number, "size": household.size,
                      "block": household.block.code if household.block else "",
                      "card": card.serial if card else None, "verdict": verdict})
    return found
