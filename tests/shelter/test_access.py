"""Each role against each shelter page and endpoint; a Registration Officer only in their sites."""

import pytest
from django.test import Client

from relief.core.models import StaffProfile
from relief.shelter import services
from relief.shelter.models import Allocation
from tests.shelter.conftest import make_household, make_plot

READERS = {"admin", "registrar", "auditor", "manager"}
WRITERS = {"admin", "registrar"}
EVERYONE = ["admin", "manager", "warehouse", "distribution", "registrar", "auditor", "outsider"]


def client_for(users, name) -> Client:
    client = Client()
    client.force_login(users[name])
    return client


@pytest.fixture
def scene(users, camps):
    registrar = users["registrar"]
    plot = make_plot(camps["NYA"], covered="16.0", lat="-4.2167", lon="30.3833")
    household = make_household(registrar)
    services.waiting_add(user=registrar, household=household)
    plan = services.plan_create(user=registrar, site=camps["NYA"])
    return {"plot": plot, "household": household, "plan": plan}


@pytest.mark.django_db
def test_pages_by_role(users, scene):
    urls = ["/shelter/", "/shelter/NYA/", "/shelter/NYA/map.svg", "/shelter/NYA/waiting/",
            f"/shelter/NYA/plots/{scene['plot'].code}/", f"/shelter/plans/{scene['plan'].number}/"]
    for name in EVERYONE:
        client = client_for(users, name)
        for url in urls:
            assert client.get(url).status_code == (200 if name in READERS else 403), (name, url)


@pytest.mark.django_db
def test_allocation_api_by_role(users, scene, camps):
    for name in EVERYONE:
        household = make_household(users["registrar"])
        plot = make_plot(camps["NYA"])
        response = client_for(users, name).post("/api/v1/shelter/allocations", {
            "household": household.number, "site": "NYA", "plot": plot.code}, content_type="application/json")
        assert response.status_code == (201 if name in WRITERS else 403), (name, response.content)
        assert Allocation.objects.filter(plot=plot).exists() == (name in WRITERS)


@pytest.mark.django_db
def test_plan_submit_by_role(users, scene):
    url = f"/api/v1/shelter/plans/{scene['plan'].number}/submit"
    for name in sorted(set(EVERYONE) - WRITERS):
        assert client_for(users, name).post(url).status_code == 403, name
    assert not Allocation.objects.exists()
    assert client_for(users, "registrar").post(url).status_code == 200
    assert Allocation.objects.count() == 1


@pytest.mark.django_db
def test_registrar_works_only_in_their_sites(users, scene, camps):
    registrar = users["registrar"]
    StaffProfile.objects.get(user=registrar).sites.set([camps["NDU"]])
    client = client_for(users, "registrar")
    assert client.get("/shelter/NYA/").status_code == 403
    assert client.get("/api/v1/shelter/sites/NYA/occupancy").status_code == 403
    response = client.post("/api/v1/shelter/allocations", {
        "household": scene["household"].number, "site": "NYA", "plot": scene["plot"].code},
        content_type="application/json")
    assert response.status_code == 403
    assert "Nyarugusu" not in client.get("/shelter/").content.decode()


@pytest.mark.django_db
def test_bad_bodies_get_422_naming_the_field(users, scene):
    client = client_for(users, "registrar")
    response = client.post("/api/v1/shelter/allocations", {"household": "", "site": "NYA", "plot": 7},
                           content_type="application/json")
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} >= {"household", "plot"}
    response = client.post("/api/v1/shelter/allocations", {
        "household": scene["household"].number, "site": "NYA", "plot": "NOPE-1"}, content_type="application/json")
    assert response.status_code == 422 and response.json()["detail"].startswith("plot:")
    response = client.post("/api/v1/shelter/sites/NYA/plans", {"weights": {"safety": 1000}},
                           content_type="application/json")
    assert response.status_code == 422 and "weights.safety" in response.json()["detail"]
    assert not Allocation.objects.exists()


@pytest.mark.smoke
@pytest.mark.django_db
def test_occupancy_page_and_map_show_the_plots(users, scene):
    client = client_for(users, "auditor")
    page = client.get("/shelter/NYA/").content.decode()
    assert 'data-src="/shelter/NYA/map.svg"' in page and "shelter/map.js" in page
    occupancy = client.get("/api/v1/shelter/sites/NYA/occupancy").json()
    assert occupancy["total"]["vacant"] == 1 and occupancy["waiting"] == 1
    waiting = client.get("/api/v1/shelter/sites/NYA/waiting").json()
    assert waiting[0]["rank"] == 1 and waiting[0]["why"]
    svg = client.get("/shelter/NYA/map.svg")
    assert svg["Content-Type"].startswith("image/svg+xml") and b"sm-vacant" in svg.content
    assert scene["plot"].code.encode() in svg.content


@pytest.mark.django_db
def test_review_edit_and_submit_through_the_pages(users, scene, camps):
    client = client_for(users, "registrar")
    other = make_plot(camps["NYA"], covered="21.0", block="B02")
    number = scene["plan"].number
    page = client.get(f"/shelter/plans/{number}/").content.decode()
    assert scene["household"].number in page and "female-headed" not in page
    client.post(f"/shelter/plans/{number}/", {"action": "line", "line": "1", "plot": other.code})
    client.post(f"/shelter/plans/{number}/", {"action": "submit"})
    assert Allocation.objects.get().plot == other
    page = client.get("/shelter/NYA/").content.decode()
    assert 'id="total-allocated">1<' in page
