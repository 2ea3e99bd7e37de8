"""The close-out page: who may open it, a close that adds up, a refused one that changes nothing."""

import re

import pytest
from django.test import Client

from relief.distribution import services
from relief.distribution.models import EventItem
from relief.inventory.models import Bin, StockLedgerEntry, Warehouse, Waybill

ALLOWED = {"admin", "manager"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(world) -> str:
    return f"/distribution/events/{world.event.pk}/close/"


def form_data(world, counts: dict, return_to: str = "") -> dict:
    """counts: item code → (counted, returned, note) as typed on the page."""
    data = {"return_to": return_to}
    for code, (counted, returned, note) in counts.items():
        prefix = f"item{world.items[code].pk}"
        data.update({f"{prefix}-counted": counted, f"{prefix}-returned": returned, f"{prefix}-note": note})
    return data


def item_row(page: str, code: str) -> str:
    """The page from the item's row up to the next item's row: its inputs and the message next to it."""
    start = page.index(f'id="item-{code}"')
    following = page.find('id="item-', start + 1)
    return page[start:following if following > 0 else len(page)]


def point_state(world):
    bins = list(Bin.objects.filter(warehouse=world.points["NYA"]).order_by("pk").values_list("on_hand", "reserved"))
    return bins, list(EventItem.objects.filter(event=world.event).order_by("pk").values_list(
        "counted", "returned", "lost", "note")), StockLedgerEntry.objects.count()


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
def test_close_from_the_books_writes_off_the_loss_and_returns_by_transfer(world, users):
    field = Warehouse.objects.create(code="NYA-FW", name="Nyarugusu field warehouse", kind=Warehouse.Kind.FIELD,
                                     site=world.sites["NYA"])
    # Size 5 takes 5 blankets, 3 nets and 1 jerrycan; size 2 takes 1 of its 2 blankets, the other stays owed.
    services.redemption_record(code=world.code(2), event=world.event, client_id="c1", user=users["distribution"])
    services.redemption_record(code=world.code(1), event=world.event, client_id="c2", user=users["distribution"],
                               lines=[services.HandOverLine(item="BLK", qty=1, reason="out_of_stock")])
    client = client_for(users["manager"])
    page = client.get(url(world)).content.decode()
    blankets = item_row(page, "BLK")
    # The books: 500 moved in (the receipt), 6 handed out, 1 owed, 494 left; the count starts from the books.
    assert re.search(r'class="moved-in">500<', blankets) and re.search(r'class="handed-out">6<', blankets)
    assert re.search(r'class="owed">1<', blankets) and re.search(r'class="left-books">494<', blankets)
    assert 'value="494"' in blankets
    response = client.post(url(world), form_data(world, {
        "BLK": (494, 100, ""), "NET": (496, 0, ""), "JRC": (497, 0, "cracked in transport")}, return_to="NYA-FW"))
    assert response.status_code == 302 and response["Location"] == f"/distribution/events/{world.event.pk}/"
    event_page = client.get(response["Location"]).content.decode()
    assert "is closed." in event_page and 'id="closed"' in event_page and "cracked in transport" in event_page
    assert url(world) not in event_page
    world.event.refresh_from_db()
    assert world.event.status == "closed" and world.event.closed_by == users["manager"]
    jerrycans = EventItem.objects.get(event=world.event, item=world.items["JRC"])
    assert (jerrycans.moved_in, jerrycans.handed_out, jerrycans.left_books, jerrycans.counted, jerrycans.lost) == (
        500, 2, 498, 497, 1)
    loss = StockLedgerEntry.objects.get(voucher_type="distribution_loss", voucher_no=world.event.number)
    assert loss.qty == -1 and loss.item == world.items["JRC"]
    # The returns left the point's books by a transfer: on the road to the field warehouse, which receives the
    # waybill.
    blankets = EventItem.objects.get(event=world.event, item=world.items["BLK"])
    assert blankets.returned == 100 and blankets.return_entry
    waybill = Waybill.objects.get(entry__number=blankets.return_entry)
    assert (waybill.source, waybill.target) == (world.points["NYA"], field)
    assert [(ln.item.code, ln.qty_dispatched) for ln in waybill.lines.select_related("item")] == [("BLK", 100)]
    assert sum(Bin.objects.filter(warehouse=world.points["NYA"], item=world.items["BLK"])
               .values_list("on_hand", flat=True)) == 394
    # A closed event has nothing left to close: the page sends the user back to the event.
    assert client.get(url(world)).status_code == 302


@pytest.mark.django_db
def test_refused_close_names_each_problem_next_to_its_item_and_changes_nothing(world, users):
    services.redemption_record(code=world.code(2), event=world.event, client_id="c1", user=users["distribution"])
    client = client_for(users["manager"])
    before = point_state(world)
    response = client.post(url(world), form_data(world, {
        "BLK": (494, 0, ""), "NET": (600, 0, ""), "JRC": (499, 5, "")}))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="refused"' in page
    blankets, nets, jerrycans = item_row(page, "BLK"), item_row(page, "NET"), item_row(page, "JRC")
    assert "1 missing by the books" in blankets and 'value="494"' in blankets
    assert "more than the books" in nets
    assert "errorlist" not in jerrycans.split("</tr>")[0] and 'id="return-error"' in page
    world.event.refresh_from_db()
    assert world.event.status == "open"
    assert point_state(world) == before


@pytest.mark.django_db
def test_bad_numbers_are_refused_on_the_page_and_change_nothing(world, users):
    client = client_for(users["admin"])
    before = point_state(world)
    response = client.post(url(world), form_data(world, {
        "BLK": (-3, 0, ""), "NET": ("many", 0, ""), "JRC": (500, 0, "")}))
    page = response.content.decode()
    assert response.status_code == 200 and 'id="refused"' in page
    assert "errorlist" in item_row(page, "BLK") and "errorlist" in item_row(page, "NET")
    assert "errorlist" not in item_row(page, "JRC")
    world.event.refresh_from_db()
    assert world.event.status == "open" and point_state(world) == before
