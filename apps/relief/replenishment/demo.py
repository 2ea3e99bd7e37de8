"""Demo logistics: the road table between the Kigoma warehouses, two trucks, BPRM's grant earmarked for
Nduta and Mtendeli, a pipeline of pledged and ordered goods, a mosquito-net round at Nyarugusu in three
weeks that the camp cannot cover (so the plan moves nets from the Kigoma main warehouse and asks to buy
the rest), a soap round for Mtendeli not generated yet (a forecast), and a first plan for the dashboard.

Draft cycles are typed in the desk in real life; here the draft and its lines are written as the desk
would, then submitted and given an event through distribution's services.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from relief.core.models import Site
from relief.core.services import document_submit
from relief.distribution import services as distribution
from relief.distribution.models import CycleSite, DistributionCycle, EntitlementRule
from relief.inventory.models import Donor, Grant, Item, Warehouse
from relief.replenishment import services
from relief.replenishment.models import (
    GrantEarmark,
    Pipeline,
    PipelineLine,
    PipelineStage,
    PurchaseRequest,
    PurchaseRequestLine,
    Route,
    Truck,
)

# from, to, km, days (Kigoma–Kasulu–Nyarugusu, Kigoma–Kibondo–Nduta, Kibondo–Kakonko–Mtendeli)
ROADS = [
    ("KGM-MAIN", "NYA-FW", "142", 1), ("NYA-FW", "NYA-DP1", "3", 1),
    ("KGM-MAIN", "NDU-FW", "236", 2), ("NDU-FW", "NDU-DP1", "4", 1),
    ("NDU-FW", "MTE-FW", "58", 1), ("MTE-FW", "MTE-DP1", "3", 1),
    ("NYA-FW", "NDU-FW", "131", 2),
]


def load(*, households: int, stdout) -> None:
    if Truck.objects.exists():
        stdout.write("replenishment demo: already loaded")
        return
    warehouses = {w.code: w for w in Warehouse.objects.filter(code__in={c for r in ROADS for c in r[:2]})}
    missing = sorted({c for r in ROADS for c in r[:2]} - set(warehouses))
    if missing:
        stdout.write(f"replenishment demo: skipped (needs the inventory demo's warehouses {', '.join(missing)})")
        return
    manager = User.objects.filter(username="manager").first() or User.objects.filter(is_superuser=True).first()
    today = timezone.localdate()
    for a, b, km, days in ROADS:
        Route.objects.create(origin=warehouses[a], destination=warehouses[b], distance_km=km, lead_days=days)
    Truck.objects.create(name="Scania 10 t", capacity_kg=10000, capacity_m3=40, cost_per_km="2.10", is_default=True)
    Truck.objects.create(name="Land Cruiser pick-up", capacity_kg=1000, capacity_m3="3.5", cost_per_km="0.85")
    sites = {s.code: s for s in Site.objects.filter(code__in=["NYA", "NDU", "MTE"])}
    bprm = Grant.objects.filter(donor__code="BPRM").order_by("pk").first()
    if bprm is not None:
        earmark = GrantEarmark.objects.create(grant=bprm, notes="BPRM: Burundian caseload in Nduta and Mtendeli")
        earmark.sites.set([sites[c] for c in ("NDU", "MTE") if c in sites])
    items = {i.code: i for i in Item.objects.filter(code__in=["MOSQ-NET", "BLANKET", "SOAP-BAR", "TARP-4X6"])}
    donors = {d.code: d for d in Donor.objects.filter(code__in=["ECHO", "BPRM"])}
    main = warehouses["KGM-MAIN"]
    for donor, stage, reference, lines in (
        ("BPRM", PipelineStage.ORDERED, "PO-TZ-2026-0188", [("BLANKET", 1500, 20), ("TARP-4X6", 600, 26)]),
        ("ECHO", PipelineStage.PLEDGED, "ECHO pledge 2026/07", [("MOSQ-NET", 2000, 75), ("SOAP-BAR", 6000, 40)]),
    ):
        if donor not in donors or any(code not in items for code, _q, _d in lines):
            continue
        pipeline = Pipeline.objects.create(donor=donors[donor], stage=stage, reference=reference, created_by=manager,
                                           grant=Grant.objects.filter(donor=donors[donor]).order_by("-pk").first(),
                                           supplier="Kigoma Traders Ltd" if stage == PipelineStage.ORDERED else "")
        for code, qty, days in lines:
            PipelineLine.objects.create(pipeline=pipeline, item=items[code], qty=qty, warehouse=main,
                                        expected_on=today + datetime.timedelta(days=days),
                                        expiry=today + datetime.timedelta(days=900) if items[code].tracks_expiry
                                        else None)
        document_submit(document=pipeline, user=manager)
    rounds = _rounds(sites=sites, items=items, user=manager, today=today)
    _purchase_requests(items=items, main=main, user=manager, today=today)
    try:
        plan = services.plan_create(user=manager, horizon_days=services.DEFAULT_HORIZON_DAYS)
    except ValidationError as exc:
        stdout.write(f"replenishment demo: no first plan ({'; '.join(exc.messages)})")
        return
    counts = plan.summary["lines"]
    stdout.write(f"replenishment demo: {len(ROADS)} roads, 2 trucks, pipeline, {rounds}; plan {plan.number}: "
                 f"{counts.get('shortfall', 0)} shortfalls, {counts.get('transfer', 0)} transfers, "
                 f"{counts.get('purchase', 0)} purchases")


def _rounds(*, sites: dict, items: dict, user, today: datetime.date) -> str:
    """A net round at Nyarugusu in three weeks (submitted, with an event) and a soap round at Mtendeli (draft)."""
    points = {w.site.code: w for w in Warehouse.objects.filter(kind=Warehouse.Kind.DISTRIBUTION_POINT,
                                                              site__code__in=list(sites)).select_related("site")}
    if "NYA" not in points or "MOSQ-NET" not in items or user is None:
        return "no rounds (needs the distribution points and items)"
    nets = DistributionCycle.objects.create(name="Mosquito net top-up, Nyarugusu", created_by=user,
                                            period_start=today + datetime.timedelta(days=21),
                                            period_end=today + datetime.timedelta(days=35))
    CycleSite.objects.create(cycle=nets, site=sites["NYA"], warehouse=points["NYA"])
    EntitlementRule.objects.create(cycle=nets, item=items["MOSQ-NET"], per_member_qty="0.5", rounding="up")
    nets = document_submit(document=nets, user=user)
    event = distribution.event_create(cycle=nets, site=sites["NYA"], name="Nyarugusu net top-up",
                                      date=today + datetime.timedelta(days=21), lanes=6, user=user)
    made = f"net round {nets.number} (event {event.number})"
    if "MTE" in points and "SOAP-BAR" in items:
        soap = DistributionCycle.objects.create(name="Soap, Mtendeli", created_by=user,
                                                period_start=today + datetime.timedelta(days=28),
                                                period_end=today + datetime.timedelta(days=42))
        CycleSite.objects.create(cycle=soap, site=sites["MTE"], warehouse=points["MTE"])
        EntitlementRule.objects.create(cycle=soap, item=items["SOAP-BAR"], per_member_qty="2", member_cap=8)
        made += f", soap round {soap.number} (draft, forecast)"
    return made


def _purchase_requests(*, items: dict, main, user, today: datetime.date) -> None:
    """Two priced requests sent for approval: tarpaulins above the Logistics Manager's limit (an Administrator
    approves), soap within it (another Logistics Manager or an Administrator approves)."""
    for code, qty, price in (("TARP-4X6", 800, "36250"), ("SOAP-BAR", 2000, "875")):
        if code not in items or user is None:
            continue
        request = PurchaseRequest.objects.create(
            warehouse=main, need_by=today + datetime.timedelta(days=30), supplier="Kigoma Traders Ltd",
            supplier_contact="P.O. Box 112, Kigoma · +255 28 280 0000", currency="TZS", created_by=user,
            grant=Grant.objects.filter(donor__code="ECHO").order_by("pk").first(),
            remarks="Local purchase for the next round")
        PurchaseRequestLine.objects.create(request=request, item=items[code], qty=qty, unit_price=price,
                                           need_by=request.need_by)
        document_submit(document=request, user=user)
