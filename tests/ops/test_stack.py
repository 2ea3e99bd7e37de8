"""The production stack driven over HTTP as its users drive it: desk login, API token, a stock posting,
a scan verified and redeemed, background jobs finishing on a worker."""

from __future__ import annotations

import uuid

import pytest
import requests

pytestmark = pytest.mark.ops


def test_processes_are_up_and_health_is_green(stack):
    assert len(stack.web_workers()) == 2
    assert all(proc.poll() is None for proc in stack.processes.values()), stack.processes
    health = requests.get(f"{stack.base}/health/", timeout=30,
                          headers={"Authorization": f"Bearer {stack.config()['health_token']}"})
    body = health.json()
    assert health.status_code == 200, body
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"] and body["checks"]["backup"]["ok"]
    assert set(body["checks"]["redis"]["queues"]) == {"short", "default", "long"}


def test_desk_login_and_pages_for_staff(stack):
    desk = stack.login("warehouse")
    page = desk.get(f"{stack.base}/desk/", timeout=30)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert desk.get(f"{stack.base}/desk/login/", timeout=30).status_code == 200
    anonymous = requests.get(f"{stack.base}/desk/", timeout=30, allow_redirects=False)
    assert anonymous.status_code == 302 and "/desk/login/" in anonymous.headers["Location"]


def test_a_stock_posting_through_the_api(stack):
    auth = stack.token("warehouse")
    url = f"{stack.base}/api/v1"

    def on_hand() -> int:
        rows = requests.get(f"{url}/stock", params={"warehouse": "OPS-MAIN", "item": "OPS-SOAP"}, headers=auth,
                            timeout=30).json()
        return sum(row["on_hand"] for row in rows)

    before = on_hand()
    made = requests.post(f"{url}/stock-entries", headers=auth, timeout=30, json={
        "type": "issue", "purpose": "loan", "remarks": "ops test",
        "lines": [{"item": "OPS-SOAP", "qty": 120, "source": "OPS-MAIN"}]})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    assert on_hand() == before  # a draft posts nothing
    done = requests.post(f"{url}/stock-entries/{number}/submit", headers=auth, timeout=30)
    assert done.status_code == 200 and done.json()["status"] == "submitted", done.text
    assert on_hand() == before - 120
    again = requests.post(f"{url}/stock-entries/{number}/submit", headers=auth, timeout=30)
    assert again.status_code == 409 and on_hand() == before - 120
    assert stack.bins_match_ledger() == []


def test_a_scan_is_verified_then_redeemed_once(stack):
    auth = stack.token("distribution", name="NYA lane 1 phone")
    event = stack.world["events"][0]
    code = event["codes"][0]
    url = f"{stack.base}/api/v1"
    listed = requests.get(f"{url}/events", headers=auth, timeout=30).json()
    assert event["id"] in {e["id"] for e in listed}

    verdict = requests.post(f"{url}/scan/verify", json={"code": code, "event": event["id"]}, headers=auth,
                            timeout=30).json()
    assert verdict["verdict"] == "entitled" and verdict["entitlements"], verdict
    client_id = str(uuid.uuid4())
    body = {"code": code, "event": event["id"], "client_id": client_id, "lane": 1}
    first = requests.post(f"{url}/scan/redeem", json=body, headers=auth, timeout=30)
    assert first.status_code == 201, first.text
    retry = requests.post(f"{url}/scan/redeem", json=body, headers=auth, timeout=30)
    assert retry.status_code == 201 and retry.json()["redemption"] == first.json()["redemption"]
    other = requests.post(f"{url}/scan/redeem", json={**body, "client_id": str(uuid.uuid4())}, headers=auth,
                          timeout=30)
    assert other.status_code == 409 and other.json()["verdict"] == "already_collected"
    forged = requests.post(f"{url}/scan/verify", json={"code": code[:-4] + "AAAA", "event": event["id"]},
                           headers=auth, timeout=30)
    assert forged.status_code == 200 and forged.json()["verdict"] != "entitled"


def test_background_jobs_finish_on_a_worker(stack):
    admin = stack.login("admin")
    started = stack.post_form(admin, "/jobs/sample/", {}, allow_redirects=False)
    assert started.status_code == 302, started.status_code
    job = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    status = stack.wait_job(admin, job)
    assert status["status"] == "finished" and status["result"]["worker"] == f"{stack.site}.", status

    # Card printing, as the Registration Officer starts it from the desk: a PDF made by a worker.
    team = stack.login("registrar")
    households = [row[0] for row in stack.sql(
        "SELECT number FROM households_household WHERE site_id = (SELECT id FROM core_site WHERE code='NYA') "
        "ORDER BY id LIMIT 12")]
    printed = stack.post_form(team, "/distribution/cards/print/", {"households": ",".join(households)},
                              allow_redirects=False)
    assert printed.status_code == 302, printed.text[:500]
    job = printed.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    status = stack.wait_job(team, job)
    assert status["status"] == "finished" and status["result"]["cards"] == 12, status
    pdf = team.get(f"{stack.base}{status['result']['download']}", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
