"""The close-out page: who may open it, a close that adds up, a refused one that changes nothing."""

import re

import pytest
from django.test import Client

from relief.distribution import services
from relief.distribution.models import EventItem
from relief.inventory.models import Bin, StockLedgerEntry

ALLOWED = {"admin", "manager"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(world) -> str:
    return f"/distribution/events/{world.event.pk}/close/"


def form_data(world, counts: dict) -> dict:
    """counts: item code → (moved_in, returned, lost, note) as typed on the page."""
    data = {}
    for code, (moved_in, returned, lost, note) in counts.items():
        prefix = f"item{world.items[code].pk}"
        data.update({f"{prefix}-moved_in": moved_in, f"{prefix}-returned": returned, f"{prefix}-lost": lost,
                     f"{prefix}-note": note})
    return data


def item_row(page: str, code: str) -> str:
    """The page from the item's row up to the next item's row: its inputs and the message next to it."""
    start = page.index(f'id="item-{code}"')
    following = page.find('id="item-', start + 1)
    return page[start:following if following > 0 else len(page)]


def point_state(world):
    bins = list(Bin.objects.filter(warehouse=world.points["NYA"]).order_by("pk").values_list("on_hand", "reserved"))
    return bins, list(EventItem.objects.filter(event=world.event).order_by("pk").values_list(
        "moved_in", "returned", "lost", "note")), StockLedgerEntry.objects.count()


@pytest.mark.django_db
def test_only_who_manages_events_may_open_the_close_page(world, users):
    for role, user in users.items():
        client = client_for(user)
        status = client.get(url(world)).status_code
        assert status == (200 if role in ALLOWED else 403), (role, status)
        assert client.post(url(world), {}).status_code == (200 if role in ALLOWED else 403), role
        if role in ALLOWED | {"distribution", "auditor"}:
            event_page = client.get(f"/distribution/events/{world.event.pk}/").content.decode()
            assert (url(world) in event_page) == (role in ALLOWED), role
    assert Client().get(url(world)).status_code == 302
    world.event.refresh_from_db()
    assert world.event.status == "open"


@pytest.mark.django_db
def test_close_from_the_page(world, users):
    # Size 5 takes 5 blankets, 3 nets and 1 jerrycan; the point had 500 of each.
    services.redemption_record(code=world.code(2), event=world.event, client_id="c1", user=users["distribution"])
    client = client_for(users["manager"])
    page = client.get(url(world)).content.decode()
    blankets = item_row(page, "BLK")
    assert 'value="500"' in blankets and re.search(r'class="handed-out">5<', blankets)
    response = client.post(url(world), form_data(world, {
        "BLK": (500, 495, 0, ""), "NET": (500, 497, 0, ""), "JRC": (500, 498, 1, "cracked in transport")}))
    assert response.status_code == 302 and response["Location"] == f"/distribution/events/{world.event.pk}/"
    event_page = client.get(response["Location"]).content.decode()
    assert "is closed." in event_page and 'id="closed"' in event_page and "cracked in transport" in event_page
    assert url(world) not in event_page
    world.event.refresh_from_db()
    assert world.event.status == "closed" and world.event.closed_by == users["manager"]
    jerrycans = EventItem.objects.get(event=world.event, item=world.items["JRC"])
    assert (jerrycans.moved_in, jerrycans.handed_out, jerrycans.returned, jerrycans.lost) == (500, 1, 498, 1)
    loss = StockLedgerEntry.objects.get(voucher_type="distribution_loss", voucher_no=world.event.number)
    assert loss.qty == -1 and loss.item == world.items["JRC"]
    # A closed event has nothing left to close: the page sends the user back to the event.
    assert client.get(url(world)).status_code == 302


@pytest.mark.django_db
def test_refused_close_names_each_difference_next_to_its_item_and_changes_nothing(world, users):
    services.redemption_record(code=world.code(2), event=world.event, client_id="c1", user=users["distribution"])
    client = client_for(users["manager"])
    before = point_state(world)
    response = client.post(url(world), form_data(world, {
        "BLK": (500, 494, 0, ""), "NET": (500, 497, 0, ""), "JRC": (500, 498, 1, "")}))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="refused"' in page
    blankets, nets, jerrycans = item_row(page, "BLK"), item_row(page, "NET"), item_row(page, "JRC")
    assert "+1 unexplained" in blankets and 'value="494"' in blankets
    assert "errorlist" not in nets
    assert "explain the loss" in jerrycans and "unexplained" not in jerrycans
    world.event.refresh_from_db()
    assert world.event.status == "open"
    assert point_state(world) == before


@pytest.mark.django_db
def test_bad_numbers_are_refused_on_the_page_and_change_nothing(world, users):
    client = client_for(users["admin"])
    before = point_state(world)
    response = client.post(url(world), form_data(world, {
        "BLK": (500, -3, 0, ""), "NET": (500, "many", 0, ""), "JRC": (500, 500, 0, "")}))
    page = response.content.decode()
    assert response.status_code == 200 and 'id="refused"' in page
    assert "errorlist" in item_row(page, "BLK") and "errorlist" in item_row(page, "NET")
    assert "errorlist" not in item_row(page, "JRC")
    world.event.refresh_from_db()
    assert world.event.status == "open" and point_state(world) == before
