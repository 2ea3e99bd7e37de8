"""A small logistics world: Kigoma main warehouse and two distribution points joined by roads, a truck,
mosquito nets from ECHO (free) and BPRM (earmarked for Nduta), three Nyarugusu households and a submitted
net round with an event in ten days."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from relief.core.demo import demo_blocks, demo_sites
from relief.core.services import document_submit
from relief.distribution import services as distribution
from relief.distribution.models import CycleSite, DistributionCycle, EntitlementRule
from relief.inventory import services as inventory
from relief.inventory.models import Donor, Grant, Item, Warehouse
from relief.inventory.services import LineData
from relief.replenishment.models import GrantEarmark, Route, Truck
from tests.distribution.conftest import register


def receive(user, warehouse, item, qty, grant, expiry=None):
    entry = inventory.stock_entry_create(entry_type="receipt", user=user, grant=grant.code,
                                         lines=[LineData(item=item.code, qty=qty, target=warehouse.code,
                                                         expiry=expiry)])
    return document_submit(document=entry, user=user)


@dataclass
class Logistics:
    users: dict
    sites: dict
    main: Warehouse
    nya: Warehouse
    ndu: Warehouse
    net: Item
    echo: Grant
    bprm: Grant
    truck: Truck
    cycle: DistributionCycle
    event: object
    today: datetime.date


def build(users, *, event_in_days: int = 10) -> Logistics:
    admin = users["admin"]
    sites = {s.code: s for s in demo_sites()}
    demo_blocks(list(sites.values()))
    main = Warehouse.objects.create(code="KGM-MAIN", name="Kigoma main", kind=Warehouse.Kind.MAIN)
    nya = Warehouse.objects.create(code="NYA-DP1", name="Nyarugusu point", kind=Warehouse.Kind.DISTRIBUTION_POINT,
                                   site=sites["NYA"])
    ndu = Warehouse.objects.create(code="NDU-DP1", name="Nduta point", kind=Warehouse.Kind.DISTRIBUTION_POINT,
                                   site=sites["NDU"])
    net = Item.objects.create(code="MOSQ-NET", name="Mosquito net", weight_kg="0.650", volume_m3="0.0030")
    echo = Grant.objects.create(donor=Donor.objects.create(code="ECHO", name="ECHO"), code="ECHO-2026-01")
    bprm = Grant.objects.create(donor=Donor.objects.create(code="BPRM", name="BPRM"), code="PRM-2026-07")
    GrantEarmark.objects.create(grant=bprm).sites.set([sites["NDU"]])
    Route.objects.create(origin=main, destination=nya, distance_km=145, lead_days=2)
    Route.objects.create(origin=main, destination=ndu, distance_km=236, lead_days=2)
    truck = Truck.objects.create(name="Scania 10 t", capacity_kg=10000, capacity_m3=40, cost_per_km="2.10",
                                 is_default=True)
    receive(admin, main, net, 15, echo)
    receive(admin, main, net, 20, bprm)
    receive(admin, nya, net, 8, echo)
    households = [register(admin, sites["NYA"], size=size) for size in (4, 6, 3)]
    today = timezone.localdate()
    cycle = DistributionCycle.objects.create(name="Net round", period_start=today,
                                             period_end=today + datetime.timedelta(days=30), created_by=admin)
    CycleSite.objects.create(cycle=cycle, site=sites["NYA"], warehouse=nya)
    EntitlementRule.objects.create(cycle=cycle, item=net, base_qty=10)  # 10 per household: 30 in all
    cycle = document_submit(document=cycle, user=admin)  # reserves the 8 nets at the point
    event = distribution.event_create(cycle=cycle, site=sites["NYA"], name="Nyarugusu nets",
                                      date=today + datetime.timedelta(days=event_in_days), lanes=2, user=admin)
    assert len(households) == 3
    return Logistics(users=users, sites=sites, main=main, nya=nya, ndu=ndu, net=net, echo=echo, bprm=bprm,
                     truck=truck, cycle=cycle, event=event, today=today)


@pytest.fixture
def logistics(users) -> Logistics:
    return build(users)
