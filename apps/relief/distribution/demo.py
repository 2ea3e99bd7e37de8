"""Demo distribution: a core-relief cycle for the three camps, stock moved to each camp's distribution point,
cards for every household, one open event per camp, and a first few hand-overs at Nyarugusu."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict

from django.contrib.auth.models import User
from django.utils import timezone

from relief.core.models import Site
from relief.core.services import document_submit
from relief.distribution import services
from relief.distribution.models import CycleSite, DistributionCycle, EntitlementRule
from relief.households.models import Household
from relief.inventory import services as inventory
from relief.inventory.demo import DONOR_CURRENCY, unit_price
from relief.inventory.models import Grant, Item, Warehouse, Waybill
from relief.inventory.services import LineData, ReceivedLine

# item, per household, per member, members counted up to, rounding (FIELD.md: nets one per two people)
RULES = [
    ("BLANKET", 0, "1", 5, "up"),
    ("SLEEP-MAT", 0, "0.5", None, "up"),
    ("MOSQ-NET", 0, "0.5", None, "up"),
    ("JERRYCAN-20", 1, "0", None, "up"),
    ("SOAP-BAR", 0, "2", 8, "up"),
]
CAMPS = ("NYA", "NDU", "MTE")


def _stock_points(*, cycle: DistributionCycle, user, grant: Grant) -> None:
    """Receive what the round needs (+10%) at each camp's field warehouse and move it to the point."""
    need: dict[tuple[int, int], int] = defaultdict(int)
    for _household, item_id, site_id, qty in services.cycle_generation_plan(cycle=cycle).add:
        need[(site_id, item_id)] += qty
    items = Item.objects.in_bulk({item_id for _site, item_id in need})
    by_code = {item.code: item for item in items.values()}
    for cs in cycle.cycle_sites.select_related("site", "warehouse"):
        lines = [(items[item_id].code, qty + qty // 10 + 1) for (site_id, item_id), qty in sorted(need.items())
                 if site_id == cs.site_id]
        if not lines:
            continue
        field = cs.warehouse.parent or cs.warehouse
        currency = DONOR_CURRENCY.get(grant.donor.code, "USD")
        receipt = inventory.stock_entry_create(
            entry_type="receipt", user=user, grant=grant.code, supplier=grant.donor.code,
            reference=f"DN-{cycle.number}-{cs.site.code}",
            lines=[LineData(item=code, qty=qty, target=field.code,
                            expiry=timezone.localdate() + datetime.timedelta(days=700)
                            if by_code[code].tracks_expiry else None,
                            batch=f"R1-{cs.site.code}" if by_code[code].tracks_batches else "",
                            unit_value=unit_price(code, currency), currency=currency)
                   for code, qty in lines])
        document_submit(document=receipt, user=user)
        if field.pk == cs.warehouse.pk:
            continue
        transfer = inventory.stock_entry_create(entry_type="transfer", user=user, lines=[
            LineData(item=code, qty=qty, source=field.code, target=cs.warehouse.code) for code, qty in lines])
        entry = document_submit(document=transfer, user=user)
        waybill = Waybill.objects.get(entry=entry)
        inventory.waybill_receive(waybill=waybill, user=user, remarks="staged for the distribution round",
                                  lines=[ReceivedLine(line_id=ln.pk, received=ln.qty_dispatched)
                                         for ln in waybill.lines.all()])


def load(*, households: int, stdout) -> None:
    if DistributionCycle.objects.exists():
        stdout.write("distribution demo: already loaded")
        return
    admin = User.objects.filter(username="admin").first() or User.objects.filter(is_superuser=True).first()
    team = User.objects.filter(username="distribution").first()
    points = {w.site.code: w for w in Warehouse.objects.filter(kind=Warehouse.Kind.DISTRIBUTION_POINT,
                                                              site__code__in=CAMPS).select_related("site")}
    items = {i.code: i for i in Item.objects.filter(code__in=[r[0] for r in RULES])}
    grant = Grant.objects.order_by("pk").first()
    if len(points) < len(CAMPS) or len(items) < len(RULES) or grant is None or admin is None:
        stdout.write("distribution demo: skipped (needs the inventory demo's points, items and grants)")
        return
    today = timezone.localdate()
    cycle = DistributionCycle.objects.create(
        name="Core relief items, round 1", period_start=today, period_end=today + datetime.timedelta(days=30),
        created_by=admin)
    sites = {s.code: s for s in Site.objects.filter(code__in=CAMPS)}
    for code in CAMPS:
        CycleSite.objects.create(cycle=cycle, site=sites[code], warehouse=points[code])
    for code, base, per_member, cap, rounding in RULES:
        EntitlementRule.objects.create(cycle=cycle, item=items[code], base_qty=base, per_member_qty=per_member,
                                       member_cap=cap, rounding=rounding)
    _stock_points(cycle=cycle, user=admin, grant=grant)
    cycle = document_submit(document=cycle, user=admin)
    registry = list(Household.objects.filter(status="active").select_related("site").order_by("pk"))
    cards = services.cards_issue(households=registry, user=admin)
    events = {}
    for code in CAMPS:
        event = services.event_create(cycle=cycle, site=sites[code], name=f"{sites[code].name}, round 1", date=today,
                                      lanes=4, user=admin, team=[team] if team else [])
        services.event_open(event=event, user=admin)
        events[code] = event
    served = 0
    for card in [c for c in cards if c.household.site.code == "NYA"][:10]:
        result = services.redemption_record(code=card.code, event=events["NYA"], client_id=str(uuid.uuid4()),
                                            user=team or admin, lane=1 + served % 4)
        served += result.verdict == "redeemed"
    stdout.write(f"demo: cycle {cycle.number} for {len(registry)} households, {len(cards)} cards, "
                 f"events {', '.join(e.number for e in events.values())} open; {served} hand-overs at Nyarugusu; "
                 f"print cards with `relief print-cards --cycle {cycle.number} --out cards.pdf`")
