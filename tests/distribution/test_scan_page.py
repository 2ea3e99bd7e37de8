"""The scanning station in headless Chromium, with a fake camera filming a printed card.

Online: the camera reads the card, the verdict appears, the hand-over is confirmed and recorded, and the
same card seen again is already collected. Offline (network blocked): a wedge scan is verified in the
browser against the manifest, queued, and synced when the network returns.
"""

import pytest
from django.conf import settings
from django.test import Client

from relief.distribution.models import Redemption
from relief.distribution.printing import print_cards
from tests.distribution.conftest import build_world

pytestmark = [pytest.mark.browser]

WIDTH, HEIGHT = 640, 480


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


@pytest.mark.django_db(transaction=True)
def test_camera_scan_confirm_then_offline_queue_and_sync(live_server, users, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the database checks in between are plain sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    world = build_world(users, households=4)
    pdf = tmp_path / "card.pdf"
    print_cards(out=pdf, user=users["admin"], households=[world.households[2].number])
    video = card_video(pdf, tmp_path / "card.y4m")
    client = Client()
    client.force_login(users["distribution"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"])
        context = browser.new_context(viewport={"width": 412, "height": 915}, permissions=["camera"])
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server.url}/scan/")
        expect(page.locator("body[data-ready='1']")).to_have_count(1)
        expect(page.locator("#manifest-info")).to_contain_text("4 cards")
        page.click("#camera")
        title = page.locator("#verdict-title")
        expect(title).to_have_text("ENTITLED", timeout=15000)
        expect(page.locator("#household")).to_contain_text(world.households[2].number)
        expect(page.locator("#verdict-message")).not_to_contain_text("offline")
        page.click("#confirm")
        expect(title).to_have_text("HANDED OVER")
        assert Redemption.objects.filter(household=world.households[2], source="online").count() == 1
        # The card is still in front of the camera: read again, it is already collected.
        expect(title).to_have_text("ALREADY COLLECTED", timeout=15000)

        page.click("#camera")  # stop filming: the next card comes from the USB scanner
        context.set_offline(True)
        page.fill("#code", world.code(1))
        page.press("#code", "Enter")
        expect(title).to_have_text("ENTITLED")
        expect(page.locator("#verdict-message")).to_contain_text("offline")
        page.click("#confirm")
        expect(title).to_have_text("SAVED OFFLINE")
        expect(page.locator("#queue-count")).to_have_text("1")
        assert not Redemption.objects.filter(household=world.households[1]).exists()
        # Scanned again on this device while still offline: refused.
        page.wait_for_timeout(1500)
        page.fill("#code", world.code(1))
        page.press("#code", "Enter")
        expect(title).to_have_text("ALREADY COLLECTED")

        context.set_offline(False)
        page.click("#sync")
        expect(page.locator("#queue-count")).to_have_text("0", timeout=10000)
        expect(page.locator("#sync-log")).to_contain_text("accepted")
        browser.close()
    assert Redemption.objects.get(household=world.households[1]).source == "offline"
    assert errors == []
