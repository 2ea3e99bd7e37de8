import pytest

from relief.core.models import AccessLog
from relief.households.models import Household
from tests.builders import member
from tests.builders import register_with as register

ALL = ["admin", "manager", "warehouse", "distribution", "registrar", "auditor", "outsider"]
PERSONAL = {"admin", "registrar"}
IDENTITY = PERSONAL | {"distribution"}
COUNTS = IDENTITY | {"auditor", "manager"}

BODY = {
    "site": "NDU", "block": "B02", "phone": "+255 700 111 222", "origin_country": "BI",
    "consent_given_by": "head", "consent_date": "2024-02-02", "consent_purposes": ["registration", "assistance"],
    "members": [
        {"given_name": "Claudine", "family_name": "Uwimana", "sex": "f", "date_of_birth": "1988-01-01",
         "relationship": "head"},
        {"given_name": "Prosper", "family_name": "Nibizi", "sex": "m", "age": 12, "relationship": "child",
         "specific_needs": ["chronic_illness"]},
    ],
}


@pytest.fixture
def household(camps):
    return register(head=member("Bienvenu", "Mwamba", "m", "1979-08-08", "head"), phone="+255754987654")


@pytest.mark.parametrize("role", ALL)
def test_api_role_matrix(client, users, household, role):
    client.force_login(users[role])
    listing = client.get("/api/v1/households")
    assert listing.status_code == (200 if role in IDENTITY else 403)
    read = client.get(f"/api/v1/households/{household.number}")
    assert read.status_code == (200 if role in IDENTITY else 403)
    if read.status_code == 200:
        assert ("members" in read.json()) == (role in PERSONAL)
        assert ("Bienvenu" in read.content.decode()) == (role in PERSONAL)
    assert client.post("/api/v1/households/search", {"q": "Mwamba"},
                       content_type="application/json").status_code == (200 if role in IDENTITY else 403)
    assert client.get("/api/v1/households/summary").status_code == (200 if role in COUNTS else 403)
    created = client.post("/api/v1/households", BODY, content_type="application/json")
    assert created.status_code == (201 if role in PERSONAL else 403)
    patched = client.patch(f"/api/v1/households/{household.number}", {"phone": "0700 000 001"},
                           content_type="application/json")
    assert patched.status_code == (200 if role in PERSONAL else 403)


@pytest.mark.smoke
def test_create_read_update_and_paginated_list(client, users, camps):
    client.force_login(users["registrar"])
    created = client.post("/api/v1/households", BODY, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["number"] == "HH-NDU-000001" and data["size"] == 2 and data["female_headed"]
    assert data["phone"] == "+255700111222" and {m["given_name"] for m in data["members"]} == {"Claudine", "Prosper"}
    patched = client.patch(f"/api/v1/households/{data['number']}", {"block": "B09"}, content_type="application/json")
    assert patched.json()["block"] == "B09"
    for n in range(4):
        register(site="NYA", unhcr_group_id=f"G{n}")
    page = client.get("/api/v1/households?limit=2&offset=0&site=NYA").json()
    assert page["count"] == 4 and len(page["items"]) == 2 and set(page["items"][0]) == {
        "number", "size", "site", "block", "head_initials"}
    assert AccessLog.objects.filter(action="api-change", object_id=data["number"]).exists()


def test_bad_bodies_get_422_naming_the_field_and_change_nothing(client, users, camps):
    client.force_login(users["registrar"])
    cases = [
        ({**BODY, "consent_purposes": []}, "consent_purposes"),
        ({**BODY, "consent_date": "yesterday"}, "consent_date"),
        ({**BODY, "site": "ZZZ"}, "site"),
        ({**BODY, "members": [{**BODY["members"][0], "sex": "x"}]}, "members.0.sex"),
        ({**BODY, "members": [BODY["members"][1]]}, "members"),
        ({k: v for k, v in BODY.items() if k != "consent_given_by"}, "consent_given_by"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/households", body, content_type="application/json")
        assert response.status_code == 422, (field, response.content)
        assert field in response.json()["detail"], (field, response.json())
    assert Household.objects.count() == 0


def test_distribution_team_outside_its_sites_is_refused(client, users, household, camps):
    users["distribution"].relief_profile.sites.set([camps["MTE"]])
    client.force_login(users["distribution"])
    assert client.get(f"/api/v1/households/{household.number}").status_code == 403
    assert client.get("/api/v1/households").json()["count"] == 0
