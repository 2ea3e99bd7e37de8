"""Scanning at scale: redeem through HTTP with 32 concurrent clients, the offline manifest, card printing.

Stack: gunicorn with several workers, MariaDB, Redis (as `honcho` runs it). Prints redemptions per
second, p50 and p99 latency, and the ratio to the raw database work of the same redemptions done
with plain PyMySQL in the same run; the manifest of a 5,000-household event (time, size); and the
time to draw 10,000 cards. Targets: p99 < 100 ms, ≥ 20 % of the raw rate, manifest < 1 s and
< 2 MB, 10,000 cards < 2 min.

    .venv/bin/python bench/scan.py [HOUSEHOLDS] [REDEMPTIONS]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

from _site import bench_database, demo_camps, drop_database

REPO = Path(__file__).resolve().parents[1]
NAME = "bench_relief_scan"
CLIENTS = 32
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))


def build(households: int):
    """Registry rows are bulk-inserted (a benchmark fixture, not the registration path); everything
    distribution-side goes through the services."""
    from django.contrib.auth.models import User

    from relief.core import signing
    from relief.core.demo import demo_users
    from relief.core.roles import sync_role_permissions
    from relief.core.services import document_submit
    from relief.distribution import services
    from relief.distribution.models import CycleSite, DistributionCycle, EntitlementRule
    from relief.households.models import Household, Member
    from relief.inventory import services as inventory
    from relief.inventory.models import Donor, Grant, Item, Warehouse
    from relief.inventory.services import LineData

    signing.key_create()
    sync_role_permissions()
    sites = {s.code: s for s in demo_camps()}
    users = demo_users(password="bench-pass-1")
    site = sites["NYA"]
    blocks = list(site.blocks.all())
    today = date(2026, 3, 2)  # fixed: the registry rows only need a past date
    rows = [Household(number=f"HH-NYA-{n:06d}", site=site, block=blocks[n % len(blocks)], registered_on=today,
                      size=1 + n % 8, consent_given_by="head", consent_date=today,
                      consent_purposes="registration assistance") for n in range(1, households + 1)]
    Household.objects.bulk_create(rows, batch_size=2000)
    made = list(Household.objects.filter(site=site).order_by("pk"))
    Member.objects.bulk_create([Member(household=h, given_name="Aline", family_name="Niyonzima", sex="f",
                                       date_of_birth=date(1988, 1, 1), relationship="head", is_head=True)
                                for h in made], batch_size=2000)
    admin = User.objects.get(username="admin")
    grant = Grant.objects.create(donor=Donor.objects.create(code="ECHO", name="ECHO"), code="ECHO-2026-01")
    point = Warehouse.objects.create(code="NYA-DP1", name="Nyarugusu DP 1", kind=Warehouse.Kind.DISTRIBUTION_POINT,
                                     site=site)
    items = [Item.objects.create(code=c, name=n) for c, n in (("BLK", "Blanket"), ("NET", "Mosquito net"),
                                                               ("JRC", "Jerrycan"))]
    entry = inventory.stock_entry_create(entry_type="receipt", user=admin, grant=grant.code, lines=[
        LineData(item=i.code, qty=households * 8, target=point.code) for i in items])
    document_submit(document=entry, user=admin)
    cycle = DistributionCycle.objects.create(name="Bench round", period_start=today, period_end=today,
                                             created_by=admin)
    CycleSite.objects.create(cycle=cycle, site=site, warehouse=point)
    EntitlementRule.objects.create(cycle=cycle, item=items[0], per_member_qty=1, member_cap=5)
    EntitlementRule.objects.create(cycle=cycle, item=items[1], per_member_qty="0.5")
    EntitlementRule.objects.create(cycle=cycle, item=items[2], base_qty=1)
    started = time.perf_counter()
    cycle = document_submit(document=cycle, user=admin)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    cards = services.cards_issue(households=made, user=admin)
    cards_s = time.perf_counter() - started
    event = services.event_create(cycle=cycle, site=site, name="Bench", date=today, lanes=50, user=admin)
    services.event_open(event=event, user=admin)
    token = __import__("relief.core.services", fromlist=["x"]).api_token_create(user=users["distribution"],
                                                                                name="bench")[1]
    print(f"set-up: {households} households, cycle generated in {generate_s:.1f} s, "
          f"{len(cards)} cards signed in {cards_s:.1f} s")
    return event, cards, token, [h.pk for h in made]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "relief.wsgi", "-w", str(WORKERS), "-k", "gthread", "--threads", "4",
         "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "--keep-alive", "30"],
        cwd=REPO / "apps", env=os.environ.copy(), start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def http_redeems(port: int, token: str, event_id: int, codes: list[str]) -> tuple[float, list[float], dict]:
    latencies: list[float] = []
    verdicts: dict[str, int] = {}
    lock = threading.Lock()
    chunks = [codes[n::CLIENTS] for n in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)

    def client(mine: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        barrier.wait()
        for code in mine:
            body = json.dumps({"code": code, "event": event_id, "client_id": str(uuid.uuid4())})
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/scan/redeem", body, headers)
            resp = conn.getresponse()
            data = json.loads(resp.read())
            took = time.perf_counter() - t0
            with lock:
                latencies.append(took)
                verdicts[data.get("verdict", str(resp.status))] = verdicts.get(data.get("verdict"), 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, verdicts


def raw_redeems(event, household_ids: list[int]) -> float:
    """The same database work per redemption in plain PyMySQL: lock the entitlements, insert the redemption
    and its lines, mark the entitlements, lock and update the bins, append the ledger rows."""
    import pymysql

    from relief.inventory.models import Bin

    bins = {b.item_id: b.pk for b in Bin.objects.filter(warehouse=event.distribution_point)}
    user_id = event.cycle.created_by_id
    chunks = [household_ids[n::CLIENTS] for n in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)

    def worker(mine: list[int]) -> None:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=NAME, autocommit=False)
        cur = conn.cursor()
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        barrier.wait()
        for household_id in mine:
            cur.execute("SELECT id, item_id, qty FROM distribution_entitlement WHERE cycle_id=%s "
                        "AND household_id=%s AND status='open' ORDER BY id FOR UPDATE", [event.cycle_id, household_id])
            ents = cur.fetchall()
            cur.execute("SELECT id FROM distribution_card WHERE household_id=%s AND status='active'", [household_id])
            card_id = cur.fetchone()[0]
            cur.execute("INSERT INTO distribution_redemption (event_id, household_id, card_id, client_id, lane, "
                        "user_id, collector, scanned_at, recorded_at, source, is_partial) VALUES (%s,%s,%s,%s,1,%s,"
                        "'head',NOW(6),NOW(6),'online',0)",
                        [event.pk, household_id, card_id, str(uuid.uuid4()), user_id])
            redemption_id = cur.lastrowid
            cur.executemany("INSERT INTO distribution_redemptionline (redemption_id, entitlement_id, item_id, "
                            "qty_entitled, qty_handed, short_reason) VALUES (%s,%s,%s,%s,%s,'')",
                            [(redemption_id, e, i, q, q) for e, i, q in ents])
            cur.execute("UPDATE distribution_entitlement SET status='redeemed' WHERE id IN %s",
                        [[e for e, _i, _q in ents]])
            ids = sorted(bins[i] for _e, i, _q in ents)
            cur.execute("SELECT id FROM inventory_bin WHERE id IN %s ORDER BY id FOR UPDATE", [ids])
            for _e, item_id, qty in ents:
                cur.execute("UPDATE inventory_bin SET on_hand=on_hand-%s, reserved=reserved-%s WHERE id=%s",
                            [qty, qty, bins[item_id]])
            cur.executemany("INSERT INTO inventory_stockledgerentry (item_id, warehouse_id, lot_id, qty, posting_date,"
                            " posted_at, voucher_type, voucher_no, kind, reason, is_reversal, created_by_id) SELECT "
                            "item_id, warehouse_id, lot_id, %s, CURDATE(), NOW(6), 'redemption', %s, 'issue', "
                            "'distribution', 0, %s FROM inventory_bin WHERE id=%s",
                            [(-q, f"RAW-{redemption_id}", user_id, bins[i]) for _e, i, q in ents])
            conn.commit()
        conn.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def main(households: int, redemptions: int) -> None:
    scratch = bench_database(NAME, redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                             queue_prefix="bench_scan_")
    proc = None
    try:
        event, cards, token, household_ids = build(households)
        from relief.distribution import selectors
        from relief.distribution.printing import render_cards

        random.seed(7)
        order = list(range(len(cards)))
        random.shuffle(order)
        http_part, raw_part = order[:redemptions], order[redemptions:2 * redemptions]

        started = time.perf_counter()
        manifest = json.dumps(selectors.event_manifest(event), separators=(",", ":"))
        manifest_s = time.perf_counter() - started
        print(f"manifest: {len(cards)} households in {manifest_s * 1000:.0f} ms, {len(manifest) / 1e6:.2f} MB "
              f"(targets < 1 s, < 2 MB)")

        port = free_port()
        proc = serve(port)
        http_redeems(port, token, event.pk, [cards[i].code for i in order[-CLIENTS * 2:]])  # warm the workers
        took, latencies, verdicts = http_redeems(port, token, event.pk, [cards[i].code for i in http_part])
        rate = len(latencies) / took
        cuts = statistics.quantiles(latencies, n=100)
        raw_s = raw_redeems(event, [household_ids[i] for i in raw_part])
        raw_rate = len(raw_part) / raw_s
        print(f"redeem over HTTP ({CLIENTS} clients, gunicorn -w {WORKERS} gthread×4): {rate:.0f}/s, "
              f"p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms, verdicts {verdicts}")
        print(f"raw PyMySQL, same work ({CLIENTS} threads): {raw_rate:.0f}/s; ratio {rate / raw_rate:.0%} "
              f"(target ≥ 20 %, p99 < 100 ms)")

        print_cards = [cards[i % len(cards)] for i in range(10_000)]
        started = time.perf_counter()
        pages = render_cards(print_cards, scratch / "cards.pdf")
        print(f"print: 10,000 cards on {pages} pages in {time.perf_counter() - started:.0f} s "
              f"({(scratch / 'cards.pdf').stat().st_size / 1e6:.1f} MB; target < 120 s)")
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        drop_database(NAME)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000, int(sys.argv[2]) if len(sys.argv) > 2 else 1500)
