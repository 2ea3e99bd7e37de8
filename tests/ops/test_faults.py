"""Processes killed mid-work (SIGKILL, as a power cut or the OOM killer does): nothing half-done remains,
a retried request completes once, a job whose worker died is run again by another and finishes once.

Deterministic: a process is stopped at a fault point inside its transaction (relief.core.faults, armed
through the stack's ``arm``/``paused``/``release``), and the SIGKILL lands there every time."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from tests.ops.conftest import REDIS_URL
from tests.ops.stack import children

pytestmark = pytest.mark.ops


def open_write_transactions(stack) -> int:
    """Rows changed by transactions of this site that are open right now (not yet committed)."""
    rows = stack.sql("""
        SELECT COALESCE(SUM(t.trx_rows_modified), 0) FROM information_schema.INNODB_TRX t
        JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.DB = %s""",
                     [stack.database])
    return int(rows[0][0])


def kill_web_workers_at(stack, point: str) -> int:
    """Wait until a web worker stops at the fault point, then SIGKILL every web worker; returns the rows its
    open transaction had changed by then."""
    pid = stack.paused(point)
    assert pid in stack.web_workers(), (pid, stack.web_workers())
    rows = open_write_transactions(stack)
    for worker in stack.web_workers():
        os.kill(worker, signal.SIGKILL)
    stack.release(point)
    return rows


LINES = 400


def voucher_rows(stack, number: str) -> int:
    return stack.sql("SELECT COUNT(*) FROM inventory_stockledgerentry WHERE voucher_no = %s", [number])[0][0]


def test_web_workers_killed_in_a_big_posting_leave_nothing_half_done_and_a_resubmit_posts_once(stack):
    auth = stack.token("warehouse")
    url = f"{stack.base}/api/v1"
    lines = [{"item": item, "qty": 1 + n % 7, "target": "OPS-MAIN", "batch": f"B{n:04d}"}
             for n, item in zip(range(LINES), stack.world["items"] * (LINES // 4), strict=True)]
    made = requests.post(f"{url}/stock-entries", headers=auth, timeout=120,
                         json={"type": "receipt", "grant": stack.world["grant"], "supplier": "ECHO", "lines": lines})
    assert made.status_code == 201, made.text
    number = made.json()["number"]

    stack.arm("posting")
    answers = []
    submit = threading.Thread(target=lambda: answers.append(_post(f"{url}/stock-entries/{number}/submit", auth)))
    submit.start()
    seen = kill_web_workers_at(stack, "posting")
    submit.join(60)
    assert answers and isinstance(answers[0], requests.ConnectionError), answers  # the request died with its worker
    assert seen >= LINES  # killed inside the transaction, its lots and ledger rows written, not committed

    # Nothing of the posting survived the kill: the transaction was rolled back whole.
    stack.wait_web()
    assert voucher_rows(stack, number) == 0
    detail = requests.get(f"{url}/stock-entries/{number}", headers=auth, timeout=30).json()
    assert detail["status"] == "draft"
    assert stack.bins_match_ledger() == []

    # The clerk submits again: it posts once, whole; a third submit is refused.
    again = requests.post(f"{url}/stock-entries/{number}/submit", headers=auth, timeout=120)
    assert again.status_code == 200 and again.json()["status"] == "submitted", again.text
    assert voucher_rows(stack, number) == LINES
    assert requests.post(f"{url}/stock-entries/{number}/submit", headers=auth, timeout=60).status_code == 409
    assert voucher_rows(stack, number) == LINES
    assert stack.bins_match_ledger() == []
    stack.check()


def _post(url, headers, json=None):
    try:
        return requests.post(url, headers=headers, json=json, timeout=120)
    except requests.ConnectionError as exc:
        return exc


def test_web_workers_killed_among_concurrent_redeems_each_household_collects_once(stack):
    auth = stack.token("distribution", name="lanes 1-8")
    event = stack.world["events"][0]
    codes = event["codes"][3:43]
    bodies = [{"code": code, "event": event["id"], "client_id": str(uuid.uuid4()), "lane": 1 + n % 8}
              for n, code in enumerate(codes)]
    url = f"{stack.base}/api/v1/scan/redeem"

    stack.arm("redemption")
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(_post, url, auth, body) for body in bodies]
        assert kill_web_workers_at(stack, "redemption") >= 1
        answers = [f.result() for f in futures]
    lost = [n for n, a in enumerate(answers) if not isinstance(a, requests.Response)]
    assert lost, "the kill cut no request short"

    # Each scanner retries what got no answer, with the same client id, until it gets one.
    stack.wait_web()
    for n in lost:
        for _attempt in range(5):
            answers[n] = _post(url, auth, bodies[n])
            if isinstance(answers[n], requests.Response):
                break
            time.sleep(1)
    assert [a.status_code for a in answers] == [201] * len(codes), [getattr(a, "text", a) for a in answers]

    households = stack.sql("""
        SELECT r.household_id, COUNT(*) FROM distribution_redemption r
        WHERE r.event_id = %s GROUP BY r.household_id HAVING COUNT(*) > 1""", [event["id"]])
    assert households == []
    recorded = stack.sql("SELECT COUNT(*) FROM distribution_redemption WHERE client_id IN %s",
                         [[b["client_id"] for b in bodies]])[0][0]
    assert recorded == len(codes)
    # Every redemption issued exactly what it handed over, and nothing else was issued for it.
    unbalanced = stack.sql("""
        SELECT r.id, h.handed, COALESCE(-l.issued, 0) FROM distribution_redemption r
        JOIN (SELECT redemption_id, SUM(qty_handed) handed FROM distribution_redemptionline
              GROUP BY redemption_id) h ON h.redemption_id = r.id
        LEFT JOIN (SELECT voucher_no, SUM(qty) issued FROM inventory_stockledgerentry
                   WHERE voucher_type = 'redemption' GROUP BY voucher_no) l ON l.voucher_no = CONCAT('RDM-', r.id)
        WHERE r.event_id = %s AND h.handed <> COALESCE(-l.issued, 0)""", [event["id"]])
    assert unbalanced == []
    assert stack.bins_match_ledger() == []
    stack.check()


def _rq_worker_pid(job_id: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    name = client.hget(f"rq:job:relief-{job_id}", "worker_name")
    assert name, "the job is not on a worker"
    return int(client.hget(f"rq:worker:{name.decode()}", "pid"))


def test_an_rq_worker_killed_mid_job_the_job_is_run_again_and_finishes_once(stack):
    registrar = stack.login("registrar")
    cards = stack.sql("SELECT COUNT(*) FROM distribution_card c JOIN households_household h ON h.id = c.household_id "
                      "JOIN core_site s ON s.id = h.site_id WHERE s.code = 'NYA' AND c.status = 'active'")[0][0]
    printed_before = stack.sql("SELECT COUNT(*) FROM distribution_cardprint")[0][0]
    started = stack.post_form(registrar, "/distribution/cards/print/", {"site": "NYA"}, allow_redirects=False)
    assert started.status_code == 302
    job = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    # Wait until the job is well under way (some pages drawn, not all), then kill its worker and horse.
    deadline = time.monotonic() + 60
    while True:
        status = stack.job_status(registrar, job)
        if status["status"] == "running" and 0 < status["done"] < status["total"]:
            break
        assert status["status"] in ("queued", "running") and time.monotonic() < deadline, status
        time.sleep(0.05)
    pid = _rq_worker_pid(job)
    (victim,) = [name for name, proc in stack.processes.items() if proc.pid == pid]
    stack.kill(victim)
    killed_at = time.monotonic()
    assert stack.job_status(registrar, job)["status"] == "running"

    # The surviving worker takes it over once the lease lapses, and runs it to the end.
    status = stack.wait_job(registrar, job, timeout=120)
    recovered_in = time.monotonic() - killed_at
    assert status["status"] == "finished" and status["result"]["cards"] == cards, status
    assert stack.sql("SELECT attempts FROM core_job WHERE REPLACE(id, '-', '') = %s",
                     [job.replace("-", "")])[0][0] == 2
    # The cards were recorded as printed once: by the run that finished, none by the one killed.
    assert stack.sql("SELECT COUNT(*) FROM distribution_cardprint")[0][0] == printed_before + cards
    assert stack.sql("SELECT COUNT(*) FROM distribution_cardprint WHERE batch = %s",
                     [status["result"]["batch"]])[0][0] == cards
    pdf = registrar.get(f"{stack.base}{status['result']['download']}", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and status["result"]["pages"] == -(-cards // 10)
    assert "recovered-abandoned-jobs" in stack.tail("scheduler", 400)
    print(f"job recovered and finished {recovered_in:.1f}s after its worker was killed")
    stack.start_worker(victim, "short", "default", "long")


def test_an_rq_worker_killed_inside_the_card_print_transaction_records_the_cards_once(stack):
    registrar = stack.login("registrar")
    cards = stack.sql("SELECT COUNT(*) FROM distribution_card c JOIN households_household h ON h.id = c.household_id "
                      "JOIN core_site s ON s.id = h.site_id WHERE s.code = 'NYA' AND c.status = 'active'")[0][0]
    printed_before = stack.sql("SELECT COUNT(*) FROM distribution_cardprint")[0][0]
    stack.arm("card-print")
    started = stack.post_form(registrar, "/distribution/cards/print/", {"site": "NYA"}, allow_redirects=False)
    assert started.status_code == 302
    job = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    # The work-horse stops with the print history written and not committed: kill its worker, horse and all.
    horse = stack.paused("card-print", timeout=120)
    (victim,) = [name for name, proc in stack.processes.items() if horse in (proc.pid, *children(proc.pid))]
    assert open_write_transactions(stack) >= cards
    stack.kill(victim)
    stack.release("card-print")
    assert stack.sql("SELECT COUNT(*) FROM distribution_cardprint")[0][0] == printed_before

    status = stack.wait_job(registrar, job, timeout=180)
    assert status["status"] == "finished" and status["result"]["cards"] == cards, status
    assert stack.sql("SELECT attempts FROM core_job WHERE REPLACE(id, '-', '') = %s",
                     [job.replace("-", "")])[0][0] == 2
    assert stack.sql("SELECT COUNT(*) FROM distribution_cardprint")[0][0] == printed_before + cards
    stack.check()
    stack.start_worker(victim, "short", "default", "long")
