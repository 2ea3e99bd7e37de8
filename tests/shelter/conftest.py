from datetime import date
from decimal import Decimal
from itertools import count

import pytest

from relief.core.demo import demo_blocks, demo_sites
from relief.core.models import Block
from relief.households import services as household_services
from relief.shelter.models import LandUse, Plot

_serial = count(1)


@pytest.fixture
def camps(db):
    sites = demo_sites()
    demo_blocks(sites)
    return {s.code: s for s in sites}


@pytest.fixture
def registrar(users):
    return users["registrar"]


def make_household(user, *, site="NYA", block="B01", size=4, female_headed=False, disability=False,
                   village="Kabonga", registered_on=None):
    """A household registered through the registry's own service."""
    head = {"given_name": "Head", "family_name": f"F{next(_serial)}", "sex": "f" if female_headed else "m",
            "date_of_birth": "1985-02-11", "relationship": "head", "is_head": True}
    if disability:
        head["wg_walking"] = 4
    members = [head] + [{"given_name": f"M{i}", "family_name": head["family_name"], "sex": "f",
                         "date_of_birth": "2012-05-01", "relationship": "child"} for i in range(size - 1)]
    day = registered_on or date(2026, 1, 10)
    return household_services.household_register(user=user, fields={
        "site": site, "block": block, "origin_village": village, "registered_on": day.isoformat(),
        "consent_given_by": "head", "consent_date": day.isoformat(), "consent_purposes": "registration shelter",
    }, members=members)


def make_plot(site, *, block="B01", code=None, covered="21.0", area="80.0", accessible=False, lighting=False,
              latrine=False, land_use=LandUse.RESIDENTIAL, status="vacant", lat=None, lon=None):
    return Plot.objects.create(
        site=site, block=Block.objects.get(site=site, code=block), code=code or f"{block}-{next(_serial):03d}",
        covered_m2=Decimal(covered), area_m2=Decimal(area), accessible=accessible, near_lighting=lighting,
        near_latrine=latrine, land_use=land_use, status=status, latitude=lat, longitude=lon,
    )
