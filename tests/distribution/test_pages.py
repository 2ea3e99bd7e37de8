"""Pages: who may open each, the scanning page in three languages, exports with the HXL row."""

import csv
import io
import json

import openpyxl
import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from relief.distribution import services

PAGES = {
    "/scan/": {"admin", "distribution"},
    "/distribution/events/": {"admin", "distribution", "manager", "auditor"},
    "/distribution/cards/print/": {"admin", "registrar"},
}


@pytest.mark.django_db
def test_role_matrix_for_every_page(world, users):
    pages = {**PAGES, f"/distribution/events/{world.event.pk}/": PAGES["/distribution/events/"],
             f"/distribution/events/{world.event.pk}/export.csv": PAGES["/distribution/events/"]}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        for url, allowed in pages.items():
            status = client.get(url).status_code
            assert status == (200 if role in allowed else 403), (role, url, status)
    assert Client().get("/scan/").status_code == 302


@pytest.mark.parametrize(("language", "title", "verdict"), [
    ("en", "Scanning station", "ALREADY COLLECTED"),
    ("sw", "Kituo cha kuskani", "AMESHACHUKUA"),
    ("fr", "Station de scan", "DÉJÀ RETIRÉ"),
])
@pytest.mark.django_db
def test_scanning_page_speaks_the_teams_language(world, users, language, title, verdict):
    client = Client()
    client.force_login(users["distribution"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/scan/").content.decode()
    assert title in page and json.dumps(verdict) in page and world.event.number in page


@pytest.mark.django_db
def test_verdict_messages_follow_the_language(world):
    with translation.override("fr"):
        assert services.scan_verify(code="nonsense", event=world.event).message == \
            "Ce n'est pas un code de carte Relief."


@pytest.mark.django_db
def test_exports_carry_the_hxl_row(world, users):
    services.redemption_record(code=world.code(2), event=world.event, client_id="x", user=users["distribution"])
    client = Client()
    client.force_login(users["manager"])
    rows = list(csv.reader(io.StringIO(client.get(f"/distribution/events/{world.event.pk}/export.csv")
                                       .content.decode())))
    assert rows[1] == ["#org", "#adm1+name", "#loc+camp+name", "#item+name", "#reached+hh", "#reached+ind",
                       "#output+num", "#date"]
    assert {r[3]: (r[4], r[5], r[6]) for r in rows[2:]} == {"Blanket": ("1", "5", "5"),
                                                            "Mosquito net": ("1", "5", "3"),
                                                            "Jerrycan 20 L": ("1", "5", "1")}
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/distribution/events/{world.event.pk}/export.xlsx")
                                             .content))
    assert [c.value for c in book.active[2]][0] == "#org"
    report = client.get(f"/distribution/events/{world.event.pk}/").content.decode()
    assert "1 of 4 households served (5 people)" in report


@pytest.mark.django_db
def test_regeneration_page_shows_the_difference_and_applies_it(world, users):
    from relief.distribution.models import Entitlement
    from tests.distribution.conftest import register

    register(users["admin"], world.sites["NYA"], size=3)
    url = f"/distribution/cycles/{world.cycle.pk}/generate/"
    client = Client()
    client.force_login(users["manager"])
    page = client.get(url)
    assert page.status_code == 200
    digest = page.context["plan"].digest
    assert page.context["summary"]["add"] == 3
    assert client.post(url, {"digest": digest}).status_code == 302
    assert Entitlement.objects.filter(cycle=world.cycle).count() == 18
    for role in ("distribution", "registrar", "auditor"):
        other = Client()
        other.force_login(users[role])
        assert other.get(url).status_code == 403
    desk = client.get("/desk/distribution/distributioncycle/")
    assert desk.status_code == 200 and world.cycle.number in desk.content.decode()


@pytest.mark.django_db
def test_household_page_lists_cards_and_collections(world, users):
    from relief.distribution.selectors import household_card_sections

    services.redemption_record(code=world.code(2), event=world.event, client_id="h1", user=users["distribution"])
    (section,) = household_card_sections(world.households[2])
    labels = [label for label, _value in section["rows"]]
    assert labels == [f"Card {world.cards[2].serial} · no. 1", world.event.number]
