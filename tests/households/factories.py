"""Households built through the services, as the desk would."""

from __future__ import annotations

from datetime import date

from relief.households import services


def member(given="Aline", family="Niyonzima", sex="f", born="1990-04-02", relationship="child", **kw) -> dict:
    return {"given_name": given, "family_name": family, "sex": sex, "date_of_birth": born,
            "relationship": relationship, **kw}


def register(*, site="NYA", block="B01", head=None, others=(), user=None, **fields):
    head = head or member("Jean", "Ndayishimiye", "m", "1980-01-15", "head")
    data = {"site": site, "block": block, "registered_on": date(2024, 5, 1), "consent_given_by": "head",
            "consent_date": date(2024, 5, 1), "consent_purposes": ["registration", "assistance"], **fields}
    return services.household_register(user=user, fields=data, members=[head, *others])
