"""The feedback desk and reports in the browser: in Kiswahili and French, at a laptop's 1366×768 and a
phone's 390×844, no page scrolls sideways (wide tables scroll inside their box) and no script or file fails."""

from __future__ import annotations

import uuid

import pytest

from relief.accountability import services
from relief.distribution import services as distribution
from tests.distribution.conftest import build_world

PAGES = ["/feedback/", "/feedback/new/", "/reports/reached/", "/reports/donor-values/", "/feedback/import/"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_fit_phone_and_laptop_in_kiswahili_and_french(live_server, users):
    from playwright.sync_api import sync_playwright

    world = build_world(users)
    distribution.redemption_record(code=world.code(0), event=world.event, client_id=str(uuid.uuid4()),
                                   user=users["distribution"])
    case = services.case_open(user=users["registrar"], category="complaint", subject="non_receipt",
                              description="Hakupokea blanketi.", refs=services.CaseRefs(
                                  household=world.households[1].number, event=world.event.pk))
    pages = [*PAGES, f"/feedback/{case.number}/", f"/pdm/events/{world.event.pk}/"]
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for language, words in (("sw", "Kesi za maoni"), ("fr", "Cas de retour")):
                for width, height in ((1366, 768), (390, 844)):
                    context = browser.new_context(viewport={"width": width, "height": height},
                                                  extra_http_headers={"Accept-Language": language})
                    page = context.new_page()
                    errors = []
                    page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                    page.on("response", lambda r, errors=errors: errors.append(f"{r.status} {r.url}")
                            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
                    page.goto(f"{live_server.url}/desk/login/")
                    page.fill("#id_username", "admin")
                    page.fill("#id_password", "test-pass-123")
                    page.click("input[type=submit]")
                    for path in pages:
                        page.goto(f"{live_server.url}{path}")
                        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                        seen[(language, width, path)] = overflow
                    page.goto(f"{live_server.url}/feedback/")
                    assert words in page.inner_text("body")
                    assert errors == [], (language, width, errors)
                    context.close()
        finally:
            browser.close()
    wide = {key: px for key, px in seen.items() if px > 0}
    assert wide == {}, wide
