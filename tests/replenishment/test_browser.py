"""The flow where JavaScript matters: run a plan (job page follows to the plan), submit it, and the
dashboard's charts drawn by the local Chart.js with no script error."""

import pytest

from relief.inventory.models import StockEntry
from tests.replenishment.conftest import build


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_run_submit_and_see_the_dashboard_in_the_browser(live_server, users, settings):
    from playwright.sync_api import sync_playwright

    settings.RELIEF_REDIS_URL = ""  # the plan job runs in the server process once the request commits
    build(users)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            errors = []
            # Script errors, CSP refusals and missing files; the browser's own favicon request aside.
            page.on("console", lambda message: errors.append(message.text)
                    if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
                    if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
            page.goto(f"{live_server.url}/desk/login/")
            page.fill("#id_username", "manager")
            page.fill("#id_password", "test-pass-123")
            page.click("input[type=submit]")
            page.goto(f"{live_server.url}/replenishment/plans/")
            page.fill("#horizon_days", "30")
            page.click("#run-plan button[type=submit]")
            page.wait_for_selector("#lines-transfer", timeout=30000)  # job.js follows the job to the plan
            assert "KGM-MAIN" in page.inner_text("#lines-transfer")
            assert "MOSQ-NET" in page.inner_text("#lines-purchase")
            page.click("#submit-plan button[type=submit]")
            page.wait_for_selector(".messagelist .success")
            page.goto(f"{live_server.url}/dashboard/")
            page.wait_for_selector("#chart-stock[data-drawn='1']", timeout=10000)
            drawn = page.locator("canvas[data-drawn='1']").count()
            assert drawn == 5
            assert errors == []
        finally:
            browser.close()
    assert StockEntry.objects.filter(entry_type="transfer", status="draft").count() == 1
