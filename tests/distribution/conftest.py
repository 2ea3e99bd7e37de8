"""A small distribution world: two camps, their distribution points with stock, households with cards,
a submitted cycle and an open event at Nyarugusu."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from relief.core.demo import demo_blocks, demo_sites
from relief.core.services import document_submit
from relief.distribution import services
from relief.distribution.models import CycleSite, DistributionCycle, EntitlementRule
from relief.households.services import household_register
from relief.inventory import services as inventory
from relief.inventory.models import Donor, Grant, Item, Warehouse
from relief.inventory.services import LineData

HEAD = {"given_name": "Aline", "family_name": "Niyonzima", "sex": "f", "date_of_birth": "1988-04-02",
        "relationship": "head", "is_head": True}


def register(user, site, *, size: int, block: str = "B01", collector: bool = False):
    members = [HEAD] + [{"given_name": f"Child{n}", "family_name": "Niyonzima", "sex": "m",
                         "date_of_birth": "2015-01-01", "relationship": "child"} for n in range(size - 1)]
    return household_register(
        user=user,
        fields={"site": site.code, "block": block, "consent_given_by": "Aline Niyonzima",
                "consent_date": "2025-01-10", "consent_purposes": "registration assistance",
                "registered_on": "2025-01-10"},
        members=members,
        collectors=[{"name": "Jean Habimana", "relationship": "neighbour"}] if collector else (),
    )


def receive(user, warehouse, item, qty, grant):
    entry = inventory.stock_entry_create(
        entry_type="receipt", user=user, grant=grant.code,
        lines=[LineData(item=item.code, qty=qty, target=warehouse.code)])
    return document_submit(document=entry, user=user)


@dataclass
class World:
    users: dict
    sites: dict
    points: dict
    items: dict
    cycle: DistributionCycle
    event: object
    households: list = field(default_factory=list)
    cards: list = field(default_factory=list)

    def code(self, n: int = 0) -> str:
        return self.cards[n].code


def build_world(users, *, households: int = 4, stock: int = 500, sizes=(1, 2, 5, 7)) -> World:
    admin = users["admin"]
    sites = {s.code: s for s in demo_sites()}
    demo_blocks(list(sites.values()))
    grant = Grant.objects.create(donor=Donor.objects.create(code="ECHO", name="ECHO"), code="ECHO-2026-01")
    points = {code: Warehouse.objects.create(code=f"{code}-DP", name=f"{sites[code].name} distribution point",
                                             kind=Warehouse.Kind.DISTRIBUTION_POINT, site=sites[code])
              for code in ("NYA", "NDU")}
    items = {"BLK": Item.objects.create(code="BLK", name="Blanket"),
             "NET": Item.objects.create(code="NET", name="Mosquito net"),
             "JRC": Item.objects.create(code="JRC", name="Jerrycan 20 L")}
    for point in points.values():
        for item in items.values():
            receive(admin, point, item, stock, grant)
    made = [register(admin, sites["NYA"], size=sizes[n % len(sizes)], block=f"B0{1 + n % 3}", collector=n == 0)
            for n in range(households)]
    made.append(register(admin, sites["NDU"], size=3))
    today = timezone.localdate()
    cycle = DistributionCycle.objects.create(name="Round 1", period_start=today,
                                             period_end=today + datetime.timedelta(days=30), created_by=admin)
    for code in ("NYA", "NDU"):
        CycleSite.objects.create(cycle=cycle, site=sites[code], warehouse=points[code])
    EntitlementRule.objects.create(cycle=cycle, item=items["BLK"], per_member_qty=1, member_cap=5)
    EntitlementRule.objects.create(cycle=cycle, item=items["NET"], per_member_qty="0.5", rounding="up")
    EntitlementRule.objects.create(cycle=cycle, item=items["JRC"], base_qty=1)
    cycle = document_submit(document=cycle, user=admin)
    cards = services.cards_issue(households=made, user=admin)
    event = services.event_create(cycle=cycle, site=sites["NYA"], name="Nyarugusu round 1", date=today, lanes=4,
                                  user=admin, team=[users["distribution"]])
    services.event_open(event=event, user=admin)
    event.refresh_from_db()
    return World(users=users, sites=sites, points=points, items=items, cycle=cycle, event=event, households=made,
                 cards=cards)


@pytest.fixture
def world(users) -> World:
    return build_world(users)
