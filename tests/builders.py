"""The one builders module: small worlds for tests, made through the services as a user would.

Each package's conftest turns these into fixtures; the race harness (tests/races.py) builds its
rounds from them too. factory_boy is not used: every row here goes through the owning service, so
a world is valid by construction and a builder cannot drift from the rules.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from types import SimpleNamespace

from django.utils import timezone

from relief.core.demo import demo_blocks, demo_sites
from relief.core.models import Block
from relief.core.services import document_submit
from relief.households import services as household_services
from relief.inventory import services as inventory
from relief.inventory.models import Donor, Grant, Item, Kit, KitComponent, Warehouse
from relief.inventory.services import LineData

_serial = count(1)


# --- inventory -------------------------------------------------------------------------------------------------


def stock_world() -> SimpleNamespace:
    """A main warehouse, a camp warehouse, two items, a kit and a grant, with no stock yet."""
    donor = Donor.objects.create(code="ECHO", name="European Civil Protection and Humanitarian Aid")
    grant = Grant.objects.create(donor=donor, code="ECHO-2026-01")
    other = Grant.objects.create(donor=Donor.objects.create(code="BPRM", name="BPRM"), code="BPRM-2026-07")
    main = Warehouse.objects.create(code="KGM", name="Kigoma main", kind=Warehouse.Kind.MAIN)
    camp = Warehouse.objects.create(code="NYA-FW", name="Nyarugusu field", kind=Warehouse.Kind.FIELD)
    blanket = Item.objects.create(code="BLK", name="Blanket")
    soap = Item.objects.create(code="SOAP", name="Soap bar", tracks_expiry=True)
    kit_item = Item.objects.create(code="KIT-CRI", name="Core relief kit")
    kit = Kit.objects.create(item=kit_item)
    KitComponent.objects.create(kit=kit, item=blanket, qty=2)
    KitComponent.objects.create(kit=kit, item=soap, qty=5)
    return SimpleNamespace(donor=donor, grant=grant, other_grant=other, main=main, camp=camp, blanket=blanket,
                           soap=soap, kit=kit_item)


def receive(user, warehouse, item, qty, *, grant=None, expiry=None, date=None):
    """Draft and submit a receipt (expiring in a year unless told); returns the entry."""
    entry = inventory.stock_entry_create(
        entry_type="receipt", user=user, grant=grant.code if grant else None,
        lines=[LineData(item=item.code, qty=qty, target=warehouse.code,
                        expiry=expiry or (timezone.localdate() + datetime.timedelta(days=365)))],
        posting_date=date,
    )
    return document_submit(document=entry, user=user)


def draft_stock_entry(user, entry_type, lines, **kwargs):
    return inventory.stock_entry_create(entry_type=entry_type, user=user, lines=lines, **kwargs)


# --- households and shelter ------------------------------------------------------------------------------------


def make_household(user, *, site="NYA", block="B01", size=4, female_headed=False, disability=False,
                   village="Kabonga", registered_on=None):
    """A household registered through the registry's own service."""
    head = {"given_name": "Head", "family_name": f"F{next(_serial)}", "sex": "f" if female_headed else "m",
            "date_of_birth": "1985-02-11", "relationship": "head", "is_head": True}
    if disability:
        head["wg_walking"] = 4
    members = [head] + [{"given_name": f"M{i}", "family_name": head["family_name"], "sex": "f",
                         "date_of_birth": "2012-05-01", "relationship": "child"} for i in range(size - 1)]
    day = registered_on or datetime.date(2026, 1, 10)
    return household_services.household_register(user=user, fields={
        "site": site, "block": block, "origin_village": village, "registered_on": day.isoformat(),
        "consent_given_by": "head", "consent_date": day.isoformat(), "consent_purposes": "registration shelter",
    }, members=members)


def member(given="Aline", family="Niyonzima", sex="f", born="1990-04-02", relationship="child", **kw) -> dict:
    """A member's fields as the registry's forms send them."""
    return {"given_name": given, "family_name": family, "sex": sex, "date_of_birth": born,
            "relationship": relationship, **kw}


def register_with(*, site="NYA", block="B01", head=None, others=(), user=None, **fields):
    """A household with exactly the head and members given (registered 2024-05-01 unless told)."""
    head = head or member("Jean", "Ndayishimiye", "m", "1980-01-15", "head")
    data = {"site": site, "block": block, "registered_on": datetime.date(2024, 5, 1), "consent_given_by": "head",
            "consent_date": datetime.date(2024, 5, 1), "consent_purposes": ["registration", "assistance"], **fields}
    return household_services.household_register(user=user, fields=data, members=[head, *others])


def make_plot(site, *, block="B01", code=None, covered="21.0", area="80.0", accessible=False, lighting=False,
              latrine=False, land_use="residential", status="vacant", lat=None, lon=None):
    from relief.shelter.models import Plot

    return Plot.objects.create(
        site=site, block=Block.objects.get(site=site, code=block), code=code or f"{block}-{next(_serial):03d}",
        covered_m2=Decimal(covered), area_m2=Decimal(area), accessible=accessible, near_lighting=lighting,
        near_latrine=latrine, land_use=land_use, status=status, latitude=lat, longitude=lon,
    )


# --- distribution ------------------------------------------------------------------------------------------------

HEAD = {"given_name": "Aline", "family_name": "Niyonzima", "sex": "f", "date_of_birth": "1988-04-02",
        "relationship": "head", "is_head": True}


def register_household(user, site, *, size: int, block: str = "B01", collector: bool = False):
    members = [HEAD] + [{"given_name": f"Child{n}", "family_name": "Niyonzima", "sex": "m",
                         "date_of_birth": "2015-01-01", "relationship": "child"} for n in range(size - 1)]
    return household_services.household_register(
        user=user,
        fields={"site": site.code, "block": block, "consent_given_by": "Aline Niyonzima",
                "consent_date": "2025-01-10", "consent_purposes": "registration assistance",
                "registered_on": "2025-01-10"},
        members=members,
        collectors=[{"name": "Jean Habimana", "relationship": "neighbour"}] if collector else (),
    )


def receive_for_grant(user, warehouse, item, qty, grant):
    """A receipt under ``grant`` with no expiry (distribution's stock)."""
    entry = inventory.stock_entry_create(
        entry_type="receipt", user=user, grant=grant.code,
        lines=[LineData(item=item.code, qty=qty, target=warehouse.code)])
    return document_submit(document=entry, user=user)


@dataclass
class DistributionWorld:
    users: dict
    sites: dict
    points: dict
    items: dict
    cycle: object
    event: object
    households: list = field(default_factory=list)
    cards: list = field(default_factory=list)

    def code(self, n: int = 0) -> str:
        return self.cards[n].code


def build_distribution_world(users, *, households: int = 4, stock: int = 500, sizes=(1, 2, 5, 7)) -> DistributionWorld:
    """Two camps, their distribution points with stock, households with cards, a submitted cycle and an open
    event at Nyarugusu."""
    from relief.distribution import services
    from relief.distribution.models import CycleSite, DistributionCycle, EntitlementRule

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
            receive_for_grant(admin, point, item, stock, grant)
    made = [register_household(admin, sites["NYA"], size=sizes[n % len(sizes)], block=f"B0{1 + n % 3}",
                               collector=n == 0)
            for n in range(households)]
    made.append(register_household(admin, sites["NDU"], size=3))
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
    return DistributionWorld(users=users, sites=sites, points=points, items=items, cycle=cycle, event=event,
                             households=made, cards=cards)
