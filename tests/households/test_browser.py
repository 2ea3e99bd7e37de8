"""The one flow where JavaScript matters: upload, watch the check job, land on the review page, import."""

import pytest

from relief.households.models import Household
from tests.households.builders import KoboHousehold, KoboMember, head, kobo_xlsx


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_check_and_import_in_the_browser(live_server, users, camps, settings, tmp_path):
    from playwright.sync_api import sync_playwright

    settings.RELIEF_REDIS_URL = ""  # jobs run in the server process once the upload commits
    bad = KoboHousehold(head=head("Pascal", "Bigirimana"), members=[KoboMember("Keza", "Bigirimana", sex="")])
    path = kobo_xlsx(tmp_path / "export.xlsx", [KoboHousehold(head=head()), bad])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/desk/login/")
            page.fill("#id_username", "registrar")
            page.fill("#id_password", "test-pass-123")
            page.click("input[type=submit]")
            page.goto(f"{live_server.url}/households/import/")
            page.set_input_files("#id_file", str(path))
            page.click("#import-form button[type=submit]")
            # job.js polls the job and follows its result to the review page.
            page.wait_for_selector("#import-result", timeout=30000)
            assert page.inner_text("#problem-count") == "1" and page.inner_text("#valid-count") == "1"
            assert page.locator("#report-link").count() == 1
            page.check("input[value=valid]")
            page.click("#import-button")
            page.wait_for_selector("#imported", timeout=30000)
        finally:
            browser.close()
    assert Household.objects.count() == 1
