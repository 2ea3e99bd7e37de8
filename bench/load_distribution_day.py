"""A distribution day against the production stack, with locust as a library.

    .venv/bin/python bench/load_distribution_day.py                 # 10 minutes, 20 lanes
    .venv/bin/python bench/load_distribution_day.py --minutes 2     # a short run

It makes a MariaDB site with `relief new-site` (database test_relief_ops_load_<random>, dropped at the
end unless --keep), loads the demo and the ops world (stock at the three camps' distribution points,
cycles with entitlements, cards, open events), takes a backup, and starts the Procfile's processes:
gunicorn (`relief serve --workers N`), two RQ workers and the scheduler. Then at once, for --minutes:

- 20 lanes (Distribution Team tokens) scan: verify a card, check the person, redeem with a client id;
- 2 warehouse clerks post stock entries through the API (a loan issue, a receipt) and read balances;
- 3 managers look at the desk: home, stock summary, the event's progress report, a camp's shelter page;
- 1 registration officer prints a camp's cards (a background job) again and again.

It prints, per endpoint, requests, failures, throughput and p50/p95/p99; the printing throughput; the
resident memory of each process (start, peak, end); and what is stored: every redemption answered 201
is in the database once, bins equal their ledger sums, and `relief check` passes. The ratio printed
next to the scan latency is to a raw round trip of the same lookups straight on the database.

The lanes scan far faster than people do (a real lane hands over a household every 30-60 s; here a
lane scans every 1-3 s), so one run stands for a much busier day than any camp has.
"""

from __future__ import annotations

# locust patches the standard library for gevent: it must come before anything opens a socket.
from locust import HttpUser, between, events, task  # isort: skip
from locust.env import Environment  # isort: skip

import argparse
import itertools
import json
import math
import statistics
import sys
import time
import uuid
from collections import deque
from pathlib import Path

import gevent

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ops.stack import (  # noqa: E402
    PASSWORD,
    Stack,
    create_site,
    issue_tokens,
    remove_site,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
CAMPS = ("NYA", "NDU", "MTE")


class World:
    """What the simulated users share: the cards still to scan, what was redeemed, print timings."""

    stack: Stack
    queue: deque = deque()
    collected: deque = deque(maxlen=5000)
    redeemed: list[str] = []  # client ids answered 201
    prints: list[dict] = []
    lane_numbers = itertools.count(1)
    clerk_numbers = itertools.count(1)
    tokens: dict[str, str] = {}


def _json(response) -> dict:
    try:
        return response.json()
    except ValueError:
        return {}


class Lane(HttpUser):
    """One scanning lane: verify, look at the person, redeem; then the next household."""

    fixed_count = 20
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.lane = next(World.lane_numbers)
        self.auth = {"Authorization": f"Bearer {World.tokens[f'lane {self.lane}']}"}

    @task
    def scan(self) -> None:
        if World.queue:
            event, code = World.queue.popleft()
            expected = "entitled"
        elif World.collected:
            # Every household served: lanes go on scanning cards already collected (a second try).
            event, code = World.collected[int(time.time() * 1000) % len(World.collected)]
            expected = "already_collected"
        else:
            return
        with self.client.post("/api/v1/scan/verify", json={"code": code, "event": event}, headers=self.auth,
                              name="scan/verify", catch_response=True) as answer:
            verdict = _json(answer).get("verdict")
            if answer.status_code != 200 or verdict != expected:
                answer.failure(f"verify: {answer.status_code} {verdict or answer.error}")
                return
        if expected != "entitled":
            return
        gevent.sleep(0.3)  # the team checks the household size against the person in front of them
        client_id = str(uuid.uuid4())
        with self.client.post("/api/v1/scan/redeem", headers=self.auth, name="scan/redeem", catch_response=True,
                              json={"code": code, "event": event, "client_id": client_id,
                                    "lane": 1 + (self.lane - 1) % 20}) as answer:
            if answer.status_code != 201:
                answer.failure(f"redeem: {answer.status_code} {_json(answer).get('verdict') or answer.error}")
                return
        World.redeemed.append(client_id)
        World.collected.append((event, code))


class Clerk(HttpUser):
    """A warehouse clerk posting through the API and checking balances."""

    fixed_count = 2
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {World.tokens[f'clerk {next(World.clerk_numbers)}']}"}
        self.turn = itertools.count()

    def _post(self, body: dict) -> None:
        with self.client.post("/api/v1/stock-entries", json=body, headers=self.auth, name="stock-entries (draft)",
                              catch_response=True) as answer:
            if answer.status_code != 201:
                answer.failure(f"draft: {answer.status_code} {answer.text[:200]}")
                return
            number = _json(answer)["number"]
        with self.client.post(f"/api/v1/stock-entries/{number}/submit", headers=self.auth,
                              name="stock-entries/{number}/submit", catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"submit: {answer.status_code} {answer.text[:200]}")

    @task(3)
    def issue(self) -> None:
        n = next(self.turn)
        self._post({"type": "issue", "purpose": "loan", "remarks": "partner loan",
                    "lines": [{"item": item, "qty": 1 + (n + k) % 9, "source": "OPS-MAIN"}
                              for k, item in enumerate(("OPS-SOAP", "OPS-JRC", "OPS-BLK")[: 1 + n % 3])]})

    @task(1)
    def receive(self) -> None:
        self._post({"type": "receipt", "grant": "OPS-ECHO-2026-01", "supplier": "ECHO",
                    "lines": [{"item": "OPS-SOAP", "qty": 500, "target": "OPS-MAIN"},
                              {"item": "OPS-NET", "qty": 200, "target": "OPS-MAIN"}]})

    @task(2)
    def balances(self) -> None:
        self.client.get("/api/v1/stock", params={"warehouse": "OPS-MAIN"}, headers=self.auth, name="stock")


def _desk_login(client, username: str) -> None:
    page = client.get("/desk/login/", name="desk/login")
    token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    client.post("/desk/login/?next=/desk/", name="desk/login", headers={"Referer": f"{client.base_url}/desk/login/"},
                data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})


class Manager(HttpUser):
    """A logistics manager watching the day from the desk."""

    fixed_count = 3
    wait_time = between(3, 8)

    def on_start(self) -> None:
        _desk_login(self.client, "manager")
        self.event = World.stack.world["events"][0]["id"]

    @task(2)
    def home(self) -> None:
        self.client.get("/desk/", name="desk/")

    @task(2)
    def stock(self) -> None:
        self.client.get("/inventory/stock/", name="inventory/stock/")

    @task(3)
    def progress(self) -> None:
        self.client.get(f"/distribution/events/{self.event}/", name="distribution/events/{id}/")

    @task(1)
    def shelter(self) -> None:
        self.client.get("/shelter/NYA/", name="shelter/{camp}/")


class Printer(HttpUser):
    """A registration officer printing a camp's cards, one job after another."""

    fixed_count = 1
    wait_time = between(5, 10)

    def on_start(self) -> None:
        _desk_login(self.client, "registrar")
        self.camps = itertools.cycle(CAMPS)

    @task
    def print_cards(self) -> None:
        token = self.client.get("/desk/", name="desk/").text.split('name="csrfmiddlewaretoken" value="', 1)
        token = token[1].split('"', 1)[0] if len(token) > 1 else ""
        started = time.monotonic()
        answer = self.client.post("/distribution/cards/print/", name="distribution/cards/print/",
                                  data={"site": next(self.camps), "csrfmiddlewaretoken": token},
                                  headers={"Referer": f"{self.client.base_url}/distribution/cards/print/"},
                                  allow_redirects=False)
        if answer.status_code != 302:
            return
        job = answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        status = {"status": "queued", "message": "not finished in 10 minutes"}
        while status["status"] not in ("finished", "failed") and time.monotonic() - started < 600:
            gevent.sleep(0.5)
            status = self.client.get(f"/jobs/{job}/status/", name="jobs/{id}/status/").json()
        elapsed = time.monotonic() - started
        ok = status["status"] == "finished"
        events.request.fire(request_type="JOB", name="print-cards (queued to finished)", response_time=elapsed * 1000,
                            response_length=0, exception=None if ok else RuntimeError(status["message"]),
                            context={})
        if ok:
            World.prints.append({"cards": status["result"]["cards"], "seconds": elapsed})


def raw_lookup_ms(stack: Stack, samples: int = 200) -> float:
    """The database work of a verify, straight over one connection: the card by its code, then the
    household's entitlements in the event's cycle (p50, ms)."""
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=stack.db_port, user="root", database=stack.database)
    codes = [code for event in stack.world["events"] for code in event["codes"]][:samples]
    timings = []
    with conn.cursor() as cursor:
        for code in codes:
            started = time.perf_counter()
            cursor.execute("SELECT id, household_id, status FROM distribution_card WHERE code = %s", [code])
            card = cursor.fetchone()
            cursor.execute("SELECT id, item_id, qty, status FROM distribution_entitlement WHERE household_id = %s",
                           [card[1]])
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(timings)


def sample_memory(stack: Stack, memory: dict, every: float = 5.0) -> None:
    while True:
        for name, mb in stack.rss().items():
            seen = memory.setdefault(name, {"start": mb, "peak": mb, "end": mb})
            seen["peak"], seen["end"] = max(seen["peak"], mb), mb
        gevent.sleep(every)


def report(env: Environment, stack: Stack, memory: dict, seconds: float, raw_ms: float) -> dict:
    rows = []
    print(f"\n{'endpoint':<44}{'requests':>9}{'fails':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
          f"{'max ms':>9}")
    for (name, method), entry in sorted(env.stats.entries.items(), key=lambda kv: -kv[1].num_requests):
        row = {"endpoint": f"{method} {name}", "requests": entry.num_requests, "failures": entry.num_failures,
               "rps": round(entry.num_requests / seconds, 2), "p50": entry.get_response_time_percentile(0.5),
               "p95": entry.get_response_time_percentile(0.95), "p99": entry.get_response_time_percentile(0.99),
               "max": round(entry.max_response_time or 0)}
        rows.append(row)
        print(f"{row['endpoint'][:43]:<44}{row['requests']:>9}{row['failures']:>7}{row['rps']:>8}{row['p50']:>8}"
              f"{row['p95']:>8}{row['p99']:>8}{row['max']:>9}")
    total = env.stats.total
    print(f"{'all':<44}{total.num_requests:>9}{total.num_failures:>7}{round(total.num_requests / seconds, 1):>8}"
          f"{total.get_response_time_percentile(0.5):>8}{total.get_response_time_percentile(0.95):>8}"
          f"{total.get_response_time_percentile(0.99):>8}")
    errors = [{"endpoint": e.name, "error": str(e.error)[:200], "count": e.occurrences}
              for e in env.stats.errors.values()]
    print("\nerrors:", "none" if not errors else "")
    for error in errors:
        print(f"  {error['count']} x {error['endpoint']}: {error['error']}")

    verify = env.stats.entries.get(("scan/verify", "POST"))
    if verify and verify.num_requests:
        p50 = verify.get_response_time_percentile(0.5)
        print(f"\nscan/verify p50 {p50} ms over HTTP vs {raw_ms:.2f} ms raw database lookups: ratio "
              f"{p50 / raw_ms:.1f}")
    cards = sum(p["cards"] for p in World.prints)
    busy = sum(p["seconds"] for p in World.prints)
    if World.prints:
        print(f"printing: {len(World.prints)} jobs, {cards} cards in {busy:.0f} s of jobs: "
              f"{cards / busy:.1f} cards/s (queued to finished, while the lanes scan)")

    print(f"\n{'process':<28}{'RSS start MB':>14}{'peak MB':>10}{'end MB':>10}")
    for name, seen in sorted(memory.items()):
        print(f"{name:<28}{seen['start']:>14}{seen['peak']:>10}{seen['end']:>10}")

    # Nothing lost: every 201 is in the database, once; the books balance; the site's own check passes.
    stored = 0
    for n in range(0, len(World.redeemed), 1000):
        chunk = World.redeemed[n:n + 1000]
        stored += stack.sql("SELECT COUNT(*) FROM distribution_redemption WHERE client_id IN %s", [chunk])[0][0]
    twice = stack.sql("SELECT COUNT(*) FROM (SELECT household_id, event_id FROM distribution_redemption "
                      "GROUP BY household_id, event_id HAVING COUNT(*) > 1) d")[0][0]
    unbalanced = stack.bins_match_ledger()
    checked = stack.relief("check", check=False)
    print(f"\nredemptions answered 201: {len(World.redeemed)}; in the database: {stored}; "
          f"households served twice at one event: {twice}")
    print(f"bins differing from their ledger sums: {len(unbalanced)}; relief check: "
          f"{checked.stdout.strip().splitlines()[-1] if checked.stdout.strip() else checked.returncode}")
    return {"seconds": round(seconds), "endpoints": rows, "errors": errors, "memory_mb": memory,
            "prints": {"jobs": len(World.prints), "cards": cards, "job_seconds": round(busy, 1)},
            "redeemed": len(World.redeemed), "stored": stored, "served_twice": twice,
            "unbalanced_bins": len(unbalanced), "check_ok": checked.returncode == 0,
            "raw_lookup_ms": round(raw_ms, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--lanes", type=int, default=20)
    parser.add_argument("--households", type=int, default=600, help="demo households, over the three camps")
    parser.add_argument("--cycles", type=int, default=None,
                        help="cycles to generate (each serves every household once); default: enough for the run")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers (the Procfile's default)")
    parser.add_argument("--keep-alive", type=int, default=None,
                        help="gunicorn keep-alive seconds (GUNICORN_CMD_ARGS); default: gunicorn's own (2 s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the site and its database afterwards")
    args = parser.parse_args()
    if not 0 < args.minutes <= 120 or not 1 <= args.lanes <= 50:
        parser.error("--minutes: 0-120; --lanes: 1-50")
    Lane.fixed_count = args.lanes
    # A lane scans about once every 2.5 s: enough cycles that households last the whole run.
    cycles = args.cycles or max(1, math.ceil(args.lanes * args.minutes * 60 / 2.5 / max(args.households, 1)))

    tag = uuid.uuid4().hex[:6]
    import tempfile

    sites_dir = Path(tempfile.mkdtemp(prefix="relief-load-"))
    stack = Stack(site=f"load-{tag}.localhost", sites_dir=sites_dir, database=f"test_relief_ops_load_{tag}")
    World.stack = stack
    try:
        started = time.monotonic()
        print(f"site {stack.site}: demo with {args.households} households, {cycles} cycle(s) ...", flush=True)
        create_site(stack, redis_url=REDIS_URL, households=args.households, cycles=cycles, site_codes=CAMPS)
        stack.relief("backup")
        stack.start_web(workers=args.web_workers, env={"GUNICORN_CMD_ARGS": f"--keep-alive {args.keep_alive}"}
                        if args.keep_alive else None)
        for n in (1, 2):
            stack.start_worker(f"worker-{n}", "short", "default", "long")
        stack.start_scheduler()
        # Scanners and tablets get their tokens from the desk before the day, not all at once at 8:00.
        World.tokens = issue_tokens(stack, {**{f"lane {n}": "distribution" for n in range(1, args.lanes + 1)},
                                            **{f"clerk {n}": "warehouse" for n in range(1, Clerk.fixed_count + 1)}})
        World.queue.extend((event["id"], code) for event in stack.world["events"] for code in event["codes"])
        print(f"ready in {time.monotonic() - started:.0f}s: {len(World.queue)} entitlement cards to scan, "
              f"{args.web_workers} web workers, 2 RQ workers, scheduler", flush=True)
        raw_ms = raw_lookup_ms(stack)

        # At the end each user finishes the scan or posting in hand, as a lane closing does.
        env = Environment(user_classes=[Lane, Clerk, Manager, Printer], events=events, host=stack.base,
                          stop_timeout=60)
        runner = env.create_local_runner()
        memory: dict = {}
        sampler = gevent.spawn(sample_memory, stack, memory)
        users = args.lanes + Clerk.fixed_count + Manager.fixed_count + Printer.fixed_count
        runner.start(users, spawn_rate=users)
        begun = time.monotonic()
        print(f"running {users} users for {args.minutes:g} min ...", flush=True)
        gevent.spawn_later(args.minutes * 60, runner.quit)
        runner.greenlet.join()
        seconds = time.monotonic() - begun
        sampler.kill()
        figures = report(env, stack, memory, seconds, raw_ms)
        figures.update({"lanes": args.lanes, "households": args.households, "cycles": cycles,
                        "web_workers": args.web_workers, "keep_alive": args.keep_alive})
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        good = (not figures["errors"] and figures["stored"] == figures["redeemed"] and not figures["served_twice"]
                and not figures["unbalanced_bins"] and figures["check_ok"])
        return 0 if good else 1
    finally:
        if args.keep:
            stack.stop()
            print(f"kept: RELIEF_SITES_DIR={sites_dir} relief --site {stack.site} ...")
        else:
            remove_site(stack, REDIS_URL)
            import shutil

            shutil.rmtree(sites_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
