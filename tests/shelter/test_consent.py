"""Consent enforced: a household without consent to a purpose is left out of what needs it; the page says why."""

from __future__ import annotations

import pytest
from django.urls import reverse

from relief.households import selectors as household_selectors
from relief.households import services as household_services
from relief.shelter import selectors, services
from tests.shelter.conftest import make_household, make_plot


@pytest.mark.django_db
def test_a_consent_refusal_keeps_the_household_out_of_planning_and_partner_exports(client, camps, registrar, users):
    willing = make_household(registrar, size=2)
    refusing = make_household(registrar, size=2)
    # The head agreed to registration only: no shelter allocation, no sharing with partners.
    household_services.household_update(user=registrar, household=refusing,
                                        fields={"consent_purposes": ["registration"]})
    household_services.household_update(user=registrar, household=willing,
                                        fields={"consent_purposes": ["registration", "shelter", "sharing"]})
    make_plot(camps["NYA"])
    make_plot(camps["NYA"])
    for household in (willing, refusing):
        services.waiting_add(user=registrar, household=household)

    problem = selectors.planning_problem(site=camps["NYA"])
    assert problem.household_ids == [willing.pk]
    page = client_get(client, users["registrar"], reverse("shelter:waiting", args=["NYA"]))
    assert 'id="no-shelter-consent"' in page and "1 household did not consent to shelter allocation" in page

    pseudonyms = {row["pseudonym"] for row in household_selectors.partner_rows(site_ids=None)}
    assert household_selectors.pseudonym(willing.number) in pseudonyms
    assert household_selectors.pseudonym(refusing.number) not in pseudonyms
    assert household_selectors.households_without_consent(purpose="sharing", site_ids=None) == 1
    summary = client_get(client, users["registrar"], reverse("households:summary"))
    assert "1 active household did not consent to sharing with partners" in summary


def client_get(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()
