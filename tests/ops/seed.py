"""Stock, cycles, cards and open events on a site that already has the demo (users, camps, households).

Run inside the site, as the operator would run any one-off script:

    relief --site X shell -c "from tests.ops.seed import main; main('/tmp/world.json', cycles=1)"

It goes through the packages' services only, and writes what the black-box tests and the load
benchmark need to drive the site over HTTP (event ids with their card codes, item and warehouse codes).
Codes start with OPS- so they never meet the demo's own warehouses or items.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

MAIN = "OPS-MAIN"
ITEMS = {"OPS-BLK": "Blanket, woven, 1.5 x 2 m", "OPS-NET": "Mosquito net, LLIN, family size",
         "OPS-JRC": "Jerrycan 20 L, collapsible", "OPS-SOAP": "Soap, bar 800 g"}
GRANT = "OPS-ECHO-2026-01"
STOCK_PER_POINT = 200_000
STOCK_MAIN = 1_000_000


def _receive(*, user, warehouse, qty):
    from relief.core.services import document_submit
    from relief.inventory import services as inventory
    from relief.inventory.services import LineData

    entry = inventory.stock_entry_create(
        entry_type="receipt", user=user, grant=GRANT, supplier="ECHO", reference="OPS-SEED",
        lines=[LineData(item=code, qty=qty, target=warehouse.code) for code in ITEMS])
    document_submit(document=entry, user=user)


def seed(*, cycles: int = 1, site_codes: tuple[str, ...] = ("NYA",), lanes: int = 20) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from relief.core.models import Site
    from relief.core.services import document_submit
    from relief.distribution import services
    from relief.distribution.models import Card, CycleSite, DistributionCycle, Entitlement, EntitlementRule
    from relief.households.models import Household
    from relief.inventory.models import Donor, Grant, Item, Warehouse

    users = {u.username: u for u in get_user_model().objects.filter(
        username__in=["admin", "warehouse", "distribution"])}
    admin = users["admin"]
    donor, _ = Donor.objects.get_or_create(code="OPS-ECHO", defaults={"name": "European Union (ECHO)"})
    Grant.objects.get_or_create(code=GRANT, defaults={"donor": donor, "title": "NFI response Kigoma 2026"})
    for code, name in ITEMS.items():
        Item.objects.get_or_create(code=code, defaults={"name": name})
    main, made = Warehouse.objects.get_or_create(code=MAIN, defaults={"name": "Kasulu main warehouse (ops)",
                                                                      "kind": Warehouse.Kind.MAIN})
    main.staff.add(users["warehouse"])
    if made:
        _receive(user=admin, warehouse=main, qty=STOCK_MAIN)
    sites = {s.code: s for s in Site.objects.filter(code__in=site_codes)}
    points = {}
    for code in site_codes:
        point, made = Warehouse.objects.get_or_create(
            code=f"OPS-{code}-DP", defaults={"name": f"{sites[code].name} distribution point (ops)",
                                             "kind": Warehouse.Kind.DISTRIBUTION_POINT, "site": sites[code]})
        if made:
            _receive(user=admin, warehouse=point, qty=STOCK_PER_POINT)
        points[code] = point

    households = list(Household.objects.filter(site__code__in=site_codes, status="active").select_related("site"))
    services.cards_issue(households=households, user=admin)
    today = timezone.localdate()
    events = []
    for n in range(cycles):
        cycle = DistributionCycle.objects.create(
            name=f"Ops round {n + 1}", period_start=today, period_end=today + datetime.timedelta(days=30),
            created_by=admin)
        for code in site_codes:
            CycleSite.objects.create(cycle=cycle, site=sites[code], warehouse=points[code])
        EntitlementRule.objects.create(cycle=cycle, item=Item.objects.get(code="OPS-BLK"), per_member_qty=1,
                                       member_cap=5)
        EntitlementRule.objects.create(cycle=cycle, item=Item.objects.get(code="OPS-NET"), per_member_qty="0.5",
                                       rounding="up")
        EntitlementRule.objects.create(cycle=cycle, item=Item.objects.get(code="OPS-JRC"), base_qty=1)
        cycle = document_submit(document=cycle, user=admin)
        for code in site_codes:
            event = services.event_create(cycle=cycle, site=sites[code], name=f"{sites[code].name} ops {n + 1}",
                                          date=today, lanes=lanes, user=admin, team=[users["distribution"]])
            services.event_open(event=event, user=admin)
            entitled = Entitlement.objects.filter(cycle=cycle, site=sites[code]).values("household_id")
            codes = Card.objects.filter(household_id__in=entitled, status="active").values_list("code", flat=True)
            events.append({"id": event.pk, "cycle": cycle.number, "site": code, "codes": sorted(codes)})
    return {"events": events, "main": MAIN, "points": {c: p.code for c, p in points.items()},
            "items": sorted(ITEMS), "grant": GRANT, "households": len(households)}


def main(out: str, cycles: int = 1, site_codes: tuple[str, ...] = ("NYA",), lanes: int = 20) -> None:
    world = seed(cycles=cycles, site_codes=tuple(site_codes), lanes=lanes)
    Path(out).write_text(json.dumps(world))


def tokens(out: str, devices: dict[str, str]) -> None:
    """Issue a token per device ({device name: username}), as the desk does before a distribution day."""
    from django.contrib.auth import get_user_model

    from relief.core.services import api_token_create

    users = {u.username: u for u in get_user_model().objects.filter(username__in=set(devices.values()))}
    issued = {name: api_token_create(user=users[username], name=name, days=1)[1] for name, username in devices.items()}
    Path(out).write_text(json.dumps(issued))
