"""Stock posting speed on MariaDB: 10-line stock entries through the service layer and through the API,
next to the same row work done with raw SQL, with a ledger of 10k rows and again of 1M rows; and the
stock summary of a warehouse with 300 items over the 1M-row ledger.

Targets: service ≥ 25 % of raw, HTTP API ≥ 10 % of raw, posting cost flat from 10k to 1M ledger rows,
stock summary under 100 ms.

    .venv/bin/python bench/stock_posting.py [ENTRIES]
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from _site import bench_database, drop_database

NAME = "bench_relief_stock_posting"
ITEMS = 300
LINES = 10


def seed():
    from django.contrib.auth.models import User

    from relief.inventory.models import Item, Lot, Warehouse
    from relief.inventory.services import Move, stock_post

    user = User.objects.create_superuser("bench", password="bench-pass-123")
    main = Warehouse.objects.create(code="KGM", name="Kigoma main", kind="main")
    Warehouse.objects.create(code="NYA-FW", name="Nyarugusu field", kind="field")
    items = Item.objects.bulk_create([Item(code=f"IT{n:03d}", name=f"Item {n}") for n in range(ITEMS)])
    lots = Lot.objects.bulk_create([Lot(code=f"SEED-{i.code}-{k}", item=i) for i in items for k in range(3)])
    stock_post(moves=[Move(item_id=lot.item_id, qty=10_000_000, target_id=main.pk, lot_id=lot.pk, kind="receipt")
                      for lot in lots], voucher_type="seed", voucher_no="SEED", user=user)
    return user, main, items


def fill_ledger(to_rows: int) -> None:
    """Grow the ledger with history rows (other items' old movements) by doubling; bins are left as they are."""
    from django.db import connection

    from relief.inventory.models import StockLedgerEntry

    table = StockLedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            have = cursor.fetchone()[0]
            if have >= to_rows:
                return
            cursor.execute(f"""
                INSERT INTO {table} (item_id, warehouse_id, lot_id, qty, posting_date, posted_at, voucher_type,
                                     voucher_no, kind, reason, is_reversal, created_by_id)
                SELECT item_id, warehouse_id, lot_id, qty, DATE_SUB(posting_date, INTERVAL 400 DAY), posted_at,
                       'history', voucher_no, kind, reason, is_reversal, created_by_id
                FROM {table} LIMIT {min(have, to_rows - have)}
            """)


def lines_for(rng: random.Random, items) -> list:
    from relief.inventory.services import LineData

    return [LineData(item=i.code, qty=rng.randint(1, 5), source="KGM") for i in rng.sample(items, LINES)]


def run_service(n: int, user, items, rng) -> float:
    from relief.core.services import document_submit
    from relief.inventory.services import stock_entry_create

    started = time.perf_counter()
    for _ in range(n):
        entry = stock_entry_create(entry_type="issue", purpose="distribution", lines=lines_for(rng, items), user=user)
        document_submit(document=entry, user=user)
    return n / (time.perf_counter() - started)


def run_api(n: int, items, rng) -> float:
    from django.test import Client

    # The full Django request stack in process (middleware, token auth, ninja); no sockets.
    client = Client(HTTP_HOST="localhost")
    token = client.post("/api/v1/auth/token", {"username": "bench", "password": "bench-pass-123"},
                        content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    started = time.perf_counter()
    for _ in range(n):
        body = {"type": "issue", "purpose": "distribution",
                "lines": [{"item": ln.item, "qty": ln.qty, "source": "KGM"} for ln in lines_for(rng, items)]}
        made = client.post("/api/v1/stock-entries", body, content_type="application/json", **auth)
        assert made.status_code == 201, made.content
        done = client.post(f"/api/v1/stock-entries/{made.json()['number']}/submit", **auth)
        assert done.status_code == 200, done.content
    return n / (time.perf_counter() - started)


def run_raw(n: int, main, items, rng) -> float:
    """The same rows with hand-written SQL: number, entry, 10 lines, 10 locked bins, 10 bin updates, 10 ledger rows."""
    from django.db import connection, transaction

    from relief.core.models import NamingSeries
    from relief.inventory.models import Bin, StockEntry, StockEntryLine, StockLedgerEntry

    bins, ledger = Bin._meta.db_table, StockLedgerEntry._meta.db_table
    entries, lines, series = StockEntry._meta.db_table, StockEntryLine._meta.db_table, NamingSeries._meta.db_table
    NamingSeries.objects.get_or_create(name="RAW-")
    started = time.perf_counter()
    for k in range(n):
        chosen = sorted(rng.sample(items, LINES), key=lambda i: i.pk)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT current FROM {series} WHERE name='RAW-' FOR UPDATE")
            cursor.execute(f"UPDATE {series} SET current = current + 1 WHERE name='RAW-'")
            cursor.execute(
                f"INSERT INTO {entries} (number, status, created_at, entry_type, posting_date, purpose, reason, "
                "supplier, reference, remarks, cancel_reason) VALUES (%s, 'submitted', NOW(), 'issue', CURDATE(), "
                "'distribution', '', '', '', '', '')", [f"RAW-{k}-{rng.random()}"])
            entry_id = cursor.lastrowid
            cursor.executemany(
                f"INSERT INTO {lines} (entry_id, item_id, qty, source_id, batch, `condition`) "
                "VALUES (%s, %s, 1, %s, '', '')", [(entry_id, i.pk, main.pk) for i in chosen])
            cursor.execute(
                f"SELECT id, lot_id FROM {bins} WHERE warehouse_id=%s AND item_id IN ({','.join(['%s'] * LINES)}) "
                "ORDER BY item_id, warehouse_id, lot_id FOR UPDATE", [main.pk, *[i.pk for i in chosen]])
            locked = cursor.fetchall()[::3][:LINES]
            cursor.executemany(f"UPDATE {bins} SET on_hand = on_hand - 1 WHERE id = %s",
                               [(b[0],) for b in locked])
            cursor.executemany(
                f"INSERT INTO {ledger} (item_id, warehouse_id, lot_id, qty, posting_date, posted_at, voucher_type, "
                "voucher_no, kind, reason, is_reversal) VALUES (%s, %s, %s, -1, CURDATE(), NOW(), 'raw', %s, "
                "'issue', '', 0)", [(i.pk, main.pk, b[1], f"RAW-{k}") for i, b in zip(chosen, locked, strict=True)])
    return n / (time.perf_counter() - started)


def timed(function, repeat: int = 20) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main(n: int) -> None:
    bench_database(NAME)
    try:
        from relief.inventory import checks, selectors
        from relief.inventory.models import StockLedgerEntry

        user, warehouse, items = seed()
        rng = random.Random(2026)
        figures = {}
        for size in (10_000, 1_000_000):
            fill_ledger(size)
            rows = StockLedgerEntry.objects.count()
            raw = run_raw(n, warehouse, items, rng)
            service = run_service(n, user, items, rng)
            api = run_api(max(n // 2, 10), items, rng)
            figures[size] = (raw, service, api)
            print(f"ledger {rows:>9,} rows: raw SQL {raw:7.1f} entries/s | service {service:6.1f} entries/s "
                  f"({service / raw:5.1%} of raw) | HTTP API {api:6.1f} entries/s ({api / raw:5.1%} of raw)")
        (raw_s, svc_s, api_s), (raw_l, svc_l, api_l) = figures[10_000], figures[1_000_000]
        print(f"growth 10k → 1M rows: service {svc_l / svc_s:.2f}×, API {api_l / api_s:.2f}×, raw {raw_l / raw_s:.2f}× "
              "(1.00× = flat)")
        summary_ms = timed(lambda: selectors.warehouse_stock_summary(warehouse=warehouse))
        rows = len(selectors.warehouse_stock_summary(warehouse=warehouse))
        total = StockLedgerEntry.objects.count()
        print(f"stock summary of {warehouse.code} ({rows} items) over {total:,} ledger rows: "
              f"{summary_ms:.1f} ms (median of 20)")
        from django.db import connection

        raw_summary = timed(lambda: connection.cursor().execute(
            "SELECT item_id, SUM(on_hand), SUM(reserved) FROM inventory_bin WHERE warehouse_id=%s GROUP BY item_id",
            [warehouse.pk]))
        print(f"  same aggregate in raw SQL: {raw_summary:.1f} ms (ratio {raw_summary / summary_ms:.0%})")
        started = time.perf_counter()
        problems = checks.run()
        print(f"relief check over the ledger: {time.perf_counter() - started:.1f} s "
              f"({len(problems)} bins differ: the synthetic history rows are not in bins, as expected)")
    finally:
        drop_database(NAME)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
