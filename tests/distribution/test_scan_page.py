"""The scanning station in headless Chromium at a phone's size, as the team uses it at the table.

One browser for the module (launched with a fake camera that films whatever card the test writes to its
video file), one context per test. Scans are typed as a keyboard-wedge scanner types them: the characters,
fast, then Enter. No hand-over may ever be recorded without its own confirmation.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from relief.distribution.models import Redemption
from relief.distribution.printing import print_cards
from tests.distribution.conftest import build_world

pytestmark = [pytest.mark.browser]

WIDTH, HEIGHT = 640, 480
PHONE = {"width": 390, "height": 844}


def card_video(pdf, out):
    """The first card of a printed sheet, filmed: a grey YUV 4:2:0 .y4m that Chromium plays as its camera."""
    import pypdfium2
    from PIL import Image

    page = pypdfium2.PdfDocument(str(pdf))[0].render(scale=4).to_pil().convert("L")
    # The first card sits at the top left: 85.6 × 54 mm starting at the sheet's margins.
    mm = page.width / 210
    left, top = (210 - 2 * 85.6) / 2 * mm, (297 - 5 * 54) / 2 * mm
    card = page.crop((int(left), int(top), int(left + 85.6 * mm), int(top + 54 * mm)))
    card.thumbnail((WIDTH - 20, HEIGHT - 20))
    frame = Image.new("L", (WIDTH, HEIGHT), 200)
    frame.paste(card, ((WIDTH - card.width) // 2, (HEIGHT - card.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    with open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            fh.write(b"FRAME\n" + luma + chroma + chroma)
    return out


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory):
    """Where the fake camera reads its film; each test that films a card writes it before starting the camera."""
    return tmp_path_factory.mktemp("camera") / "card.y4m"


@pytest.fixture(scope="module")
def browser(camera_file):
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread for the whole module; the database work in
    # and between tests (including each test's flush) is plain sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera_file}"])
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def station(browser, live_server):
    """Open /scan/ logged in as the given user; returns the page (and collects page errors)."""
    contexts, errors = [], []

    def open_station(user, *, viewport=PHONE, path="/scan/", base=None):
        base = base or live_server.url
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport=viewport, permissions=["camera"])
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": base}])
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}{path}")
        from playwright.sync_api import expect

        expect(page.locator("body[data-ready='1']")).to_have_count(1)
        return page

    yield open_station
    for context in contexts:
        context.close()
    assert errors == []


class NetworkGate:
    """A TCP relay between the browser and the live server: shutting it is the phone losing its network, for the
    page, its service worker and the API alike (the browser's offline emulation does not reach service workers)."""

    def __init__(self, target_port: int):
        import socket
        import threading

        self.target, self.offline, self.conns = target_port, False, []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading

        while True:
            try:
                client, _addr = self.sock.accept()
            except OSError:
                return
            if self.offline:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            a.close()  # closing a closed socket is a no-op
            b.close()

    def set_offline(self, offline: bool) -> None:
        self.offline = offline
        if offline:
            for conn in self.conns:
                conn.close()
            self.conns = []

    def close(self) -> None:
        self.set_offline(True)
        self.sock.close()


def wedge(page, code: str) -> None:
    """What a USB scanner does: the characters, fast, then Enter, into whatever has the focus."""
    page.keyboard.type(code + "\n", delay=2)


@pytest.mark.django_db(transaction=True)
def test_wedge_scans_never_confirm_a_hand_over(users, station):
    from playwright.sync_api import expect

    world = build_world(users, households=4)
    page = station(users["distribution"])
    title, household = page.locator("#verdict-title"), page.locator("#household")
    expect(page.locator("#manifest-info")).to_contain_text("4 cards")
    expect(page.locator("#served")).to_contain_text("0")
    assert page.evaluate("document.activeElement.id") == "code"

    wedge(page, world.code(0))
    expect(title).to_have_text("ENTITLED")
    expect(household).to_contain_text(world.households[0].number)
    # The next card arrives while ENTITLED shows: its Enter judges it, and household 0 gets nothing.
    wedge(page, world.code(1))
    expect(household).to_contain_text(world.households[1].number)
    expect(title).to_have_text("ENTITLED")
    # Two cards back to back, faster than the server answers: the last one is judged, nothing recorded.
    wedge(page, world.code(0) + "\n" + world.code(2))
    expect(household).to_contain_text(world.households[2].number)
    page.wait_for_timeout(500)
    expect(household).to_contain_text(world.households[2].number)
    assert page.locator("#code").input_value() == ""
    # Stray Enters (a scanner's empty line, a finger) confirm nothing.
    for _ in range(3):
        page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert not Redemption.objects.exists()

    # A refusal, then the next card: the box was emptied, so it is not appended to the bad code.
    wedge(page, "RC1:NOT-A-CARD")
    expect(title).to_have_text("INVALID CARD")
    assert page.locator("#code").input_value() == ""
    wedge(page, world.code(2))
    expect(title).to_have_text("ENTITLED")

    # The team lowers a quantity (focus in the quantity box) and the next card is scanned right then:
    # the scan still arrives whole in the code box, and the lowered hand-over is not recorded.
    page.locator("#lines input").first.fill("0")
    page.locator("#lines input").first.focus()
    wedge(page, world.code(1))
    expect(household).to_contain_text(world.households[1].number)
    expect(title).to_have_text("ENTITLED")
    assert not Redemption.objects.exists()

    # Its own confirmation (the button) records exactly this household's hand-over.
    page.click("#confirm")
    expect(title).to_have_text("HANDED OVER")
    assert list(Redemption.objects.values_list("household_id", flat=True)) == [world.households[1].pk]
    expect(title).to_have_text("Ready: scan a card", timeout=5000)
    expect(page.locator("#served")).to_contain_text("1 at this lane")
    # The deliberate key (F2) confirms too; Enter never does.
    wedge(page, world.code(3))
    expect(title).to_have_text("ENTITLED")
    page.keyboard.press("F2")
    expect(title).to_have_text("HANDED OVER")
    assert Redemption.objects.count() == 2
    # The same household scanned again at once: served just now, in the success colour, not a refusal.
    wedge(page, world.code(3))
    expect(title).to_have_text("HANDED OVER JUST NOW")
    assert "handed_just_now" in page.locator("#verdict").get_attribute("class")
    expect(page.locator("#served")).to_contain_text("2 at this event")
    assert Redemption.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_camera_card_held_in_view_then_offline_queue_and_sync(users, station, camera_file, tmp_path, settings):
    from playwright.sync_api import expect

    settings.RELIEF_SCAN_REPEAT_SECONDS = 2
    world = build_world(users, households=4)
    pdf = tmp_path / "card.pdf"
    print_cards(out=pdf, user=users["admin"], households=[world.households[2].number])
    card_video(pdf, camera_file)
    page = station(users["distribution"])
    title = page.locator("#verdict-title")
    page.click("#camera")
    expect(title).to_have_text("ENTITLED", timeout=15000)
    expect(page.locator("#household")).to_contain_text(world.households[2].number)
    expect(page.locator("#verdict-message")).not_to_contain_text("offline")
    page.click("#confirm")
    expect(title).to_have_text("HANDED OVER")
    assert Redemption.objects.filter(household=world.households[2], source="online").count() == 1
    # The card stays in front of the camera past the repeat window: handed over just now, never an amber refusal.
    seen = set()
    for _ in range(25):
        page.wait_for_timeout(200)
        seen.add(title.text_content())
    assert "ALREADY COLLECTED" not in seen
    expect(title).to_have_text("HANDED OVER JUST NOW", timeout=10000)
    assert Redemption.objects.filter(household=world.households[2]).count() == 1

    page.click("#camera")  # stop filming: the next card comes from the USB scanner
    page.context.set_offline(True)
    wedge(page, world.code(1))
    expect(title).to_have_text("ENTITLED")
    expect(page.locator("#verdict-message")).to_contain_text("offline")
    page.click("#confirm")
    expect(title).to_have_text("SAVED OFFLINE")
    expect(page.locator("#queue-count")).to_have_text("1")
    assert not Redemption.objects.filter(household=world.households[1]).exists()
    # Scanned again on this device while still offline: not handed over twice.
    wedge(page, world.code(1))
    expect(title).to_have_text("HANDED OVER JUST NOW")

    # A second queued entry the server cannot accept (dated a day ahead): it alone stays on the device.
    page.evaluate("""() => {
        const q = JSON.parse(localStorage.getItem("relief.scan.queue"));
        const bad = {...q[0], client_id: "future-entry", scanned_at: new Date(Date.now() + 864e5).toISOString()};
        localStorage.setItem("relief.scan.queue", JSON.stringify([...q, bad]));
    }""")
    page.context.set_offline(False)
    page.click("#sync")
    expect(page.locator("#sync-log")).to_contain_text("accepted", timeout=10000)
    expect(page.locator("#queue-count")).to_have_text("1")
    expect(page.locator("#queue-refused")).to_be_visible()
    assert page.evaluate("JSON.parse(localStorage.getItem('relief.scan.queue'))[0].client_id") == "future-entry"
    assert Redemption.objects.get(household=world.households[1]).source == "offline"


@pytest.mark.django_db(transaction=True)
def test_owed_lines_at_a_mop_up_and_the_exception_lane(users, station):
    from playwright.sync_api import expect

    from relief.distribution import services
    from relief.distribution.models import Entitlement, EntitlementStatus
    from tests.distribution.conftest import receive

    # The point holds one of each item: household 0 (7 people) is entitled to 5 blankets, 4 nets, a jerrycan.
    world = build_world(users, households=2, stock=1, sizes=(7, 2))
    services.approval_pin_set(user=users["manager"], pin="482913")
    page = station(users["distribution"])
    title = page.locator("#verdict-title")
    wedge(page, world.code(0))
    expect(title).to_have_text("ENTITLED")
    expect(page.locator("#verdict-message")).to_contain_text("holds less")
    # What the point holds is offered, the shortage preselected as out of stock.
    assert page.locator("#lines input").evaluate_all("els => els.map(e => e.value)") == ["1", "1", "1"]
    page.click("#confirm")
    expect(title).to_have_text("HANDED OVER")
    owed = {e.item.code: e.qty - e.qty_collected for e in Entitlement.objects.select_related("item")
            .filter(household=world.households[0], status=EntitlementStatus.OWED)}
    assert owed == {"BLK": 4, "NET": 3}

    # Household 1 forgot its card: found by number, handed over by exception once a supervisor approves.
    page.click("#exception summary")
    page.fill("#lookup-q", world.households[1].number)
    page.click("#lookup button[type=submit]")
    page.click("#lookup-results .exc-hand-over")
    expect(title).to_have_text("ENTITLED")
    page.click("#confirm")
    expect(page.locator("#verdict-message")).to_contain_text("supervisor")
    assert not Redemption.objects.filter(household=world.households[1]).exists()
    page.fill("#exc-user", "manager")
    page.fill("#exc-pin", "482913")
    page.click("#confirm")
    expect(title).to_have_text("HANDED OVER")
    redemption = Redemption.objects.get(household=world.households[1])
    assert (redemption.exception_reason, redemption.approved_by) == ("forgotten", users["manager"])
    # Its card is lost: replaced at the table, the old one refused from now on.
    page.fill("#lookup-q", world.households[1].number)
    page.click("#lookup button[type=submit]")
    with page.context.expect_page():
        page.click("#lookup-results .exc-replace-lost")
    expect(page.locator("#print-card")).to_be_visible()
    wedge(page, world.code(1))
    expect(title).to_have_text("REVOKED CARD")

    # Stock arrives and a mop-up serves what is owed, and only that.
    from relief.inventory.models import Grant

    grant = Grant.objects.get(code="ECHO-2026-01")
    for code in ("BLK", "NET"):
        receive(users["admin"], world.points["NYA"], world.items[code], 10, grant)
    mop_up = services.event_create(cycle=world.cycle, site=world.sites["NYA"], name="Mop-up", date=world.event.date,
                                   lanes=1, user=users["admin"], team=[users["distribution"]], owed_only=True)
    services.event_open(event=mop_up, user=users["admin"])
    page.reload()
    page.select_option("#event", str(mop_up.pk))
    expect(page.locator("#manifest-info")).to_contain_text("cards")
    wedge(page, world.code(0))
    expect(title).to_have_text("ENTITLED")
    expect(page.locator("#lines")).to_contain_text("owed")
    assert page.locator("#lines input").count() == 2
    page.click("#confirm")
    expect(title).to_have_text("HANDED OVER")
    assert not Entitlement.objects.filter(household=world.households[0],
                                                   status=EntitlementStatus.OWED).exists()


@pytest.mark.django_db(transaction=True)
def test_page_starts_offline_from_its_service_worker_and_keeps_its_queue(users, station, live_server):
    from urllib.parse import urlsplit

    from playwright.sync_api import expect

    world = build_world(users, households=2)
    gate = NetworkGate(urlsplit(live_server.url).port)
    page = station(users["distribution"], base=gate.url)
    url = page.url
    expect(page.locator("#manifest-info")).to_contain_text("2 cards")
    # The worker is installed (it keeps the page and its files) after this one online visit.
    assert page.evaluate("navigator.serviceWorker.ready.then(r => Boolean(r.active))")
    manifest = page.request.get(url.replace("/scan/", "/scan/manifest.webmanifest")).json()
    assert manifest["start_url"] == "/scan/" and manifest["display"] == "standalone"

    context = page.context
    gate.set_offline(True)
    page.close()
    errors = []

    def cold_start():
        fresh = context.new_page()
        fresh.on("pageerror", lambda exc: errors.append(str(exc)))
        fresh.goto(url)
        expect(fresh.locator("body[data-ready='1']")).to_have_count(1)
        return fresh

    cold = cold_start()
    expect(cold.locator("#net")).to_have_text("offline")
    expect(cold.locator("#manifest-info")).to_contain_text("2 cards")
    wedge(cold, world.code(0))
    expect(cold.locator("#verdict-title")).to_have_text("ENTITLED")
    expect(cold.locator("#verdict-message")).to_contain_text("offline")
    cold.click("#confirm")
    expect(cold.locator("#verdict-title")).to_have_text("SAVED OFFLINE")
    # An offline list a day old is shown as out of date.
    cold.evaluate("""() => {
        const key = Object.keys(localStorage).find(k => k.startsWith("relief.scan.manifest."));
        const m = JSON.parse(localStorage.getItem(key));
        m.generated_at = new Date(Date.now() - 864e5).toISOString();
        localStorage.setItem(key, JSON.stringify(m));
    }""")
    cold.close()

    again = cold_start()  # the phone restarted, still no network: the queue is still there
    expect(again.locator("#queue-count")).to_have_text("1")
    expect(again.locator("#manifest-info")).to_contain_text("OUT OF DATE")
    assert not Redemption.objects.exists()
    gate.set_offline(False)
    again.click("#sync")
    expect(again.locator("#queue-count")).to_have_text("0", timeout=10000)
    expect(again.locator("#manifest-info")).not_to_contain_text("OUT OF DATE")
    assert Redemption.objects.get().household == world.households[0]
    assert errors == []
    gate.close()
