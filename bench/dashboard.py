"""Benchmark: the logistics dashboard with 1M stock ledger rows (target < 500 ms).

Builds a fresh MariaDB database with 20 warehouses, 300 items, two lots per item and warehouse, and
1,000,000 ledger rows spread over those 12,000 bins (bins hold their sums, as postings keep them).
Prints the dashboard's figures time, the whole page's time, and the raw database work of its main
aggregate (from the bins), next to the same aggregate summed from the ledger.
"""

from __future__ import annotations

import datetime
import statistics
import time

from _site import bench_database, demo_camps, drop_database

NAME = "bench_dashboard"
ROWS = 1_000_000


def build() -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from relief.inventory.models import Bin, Item, Lot, StockLedgerEntry, Warehouse

    today = timezone.localdate()
    with transaction.atomic():
        warehouses = [Warehouse.objects.create(code=f"W{n:02d}", name=f"Warehouse {n}",
                                               kind=Warehouse.Kind.MAIN if n == 0 else Warehouse.Kind.FIELD)
                      for n in range(20)]
        items = Item.objects.bulk_create([Item(code=f"IT{n:03d}", name=f"Item {n}",
                                               category=["nfi", "wash", "shelter"][n % 3]) for n in range(300)])
        lots = Lot.objects.bulk_create([Lot(code=f"L{w.pk}-{i.pk}-{k}", item=i,
                                            expiry=today + datetime.timedelta(days=(i.pk * 7 + k * 30) % 400))
                                        for w in warehouses for i in items for k in range(2)], batch_size=5000)
        by_code = {lot.code: lot for lot in lots}
        Bin.objects.bulk_create([Bin(item=i, warehouse=w, lot=by_code[f"L{w.pk}-{i.pk}-{k}"])
                                 for w in warehouses for i in items for k in range(2)], batch_size=5000)
    ledger, bins = StockLedgerEntry._meta.db_table, Bin._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, item_id, warehouse_id, lot_id FROM {bins} ORDER BY id")  # noqa: S608
        keys = cursor.fetchall()
        cursor.execute("CREATE TEMPORARY TABLE bench_bins (n INT PRIMARY KEY, item_id BIGINT, warehouse_id BIGINT, "
                       "lot_id BIGINT)")
        cursor.executemany("INSERT INTO bench_bins VALUES (%s, %s, %s, %s)",
                           [(n, i, w, lot) for n, (_pk, i, w, lot) in enumerate(keys)])
        # Four movements in five come in (3 units), one goes out (1 unit): every bin ends positive.
        cursor.execute(f"""
            INSERT INTO {ledger} (item_id, warehouse_id, lot_id, qty, posting_date, posted_at, voucher_type,
                                  voucher_no, kind, reason, is_reversal, created_by_id)
            SELECT b.item_id, b.warehouse_id, b.lot_id, IF(FLOOR(s.seq / {len(keys)}) % 5 = 0, -1, 3),
                   DATE_SUB(CURDATE(), INTERVAL s.seq % 365 DAY), NOW(), 'stock_entry',
                   CONCAT('GRN-B-', s.seq), IF(FLOOR(s.seq / {len(keys)}) % 5 = 0, 'issue', 'receipt'), '', 0, NULL
            FROM seq_0_to_{ROWS - 1} s JOIN bench_bins b ON b.n = s.seq % {len(keys)}
        """)  # noqa: S608
        cursor.execute(f"""
            UPDATE {bins} b JOIN (SELECT item_id, warehouse_id, lot_id, SUM(qty) AS total FROM {ledger}
                                  GROUP BY item_id, warehouse_id, lot_id) l
              ON l.item_id = b.item_id AND l.warehouse_id = b.warehouse_id AND l.lot_id = b.lot_id
            SET b.on_hand = l.total
        """)  # noqa: S608


def timed(function, runs: int = 7) -> float:
    function()  # warm the caches once
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    bench_database(NAME)
    demo_camps()
    try:
        started = time.perf_counter()
        build()
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client

        from relief.core.roles import sync_role_permissions
        from relief.inventory.checks import run as inventory_checks
        from relief.inventory.models import Bin, StockLedgerEntry
        from relief.replenishment import selectors

        print(f"built {StockLedgerEntry.objects.count():,} ledger rows over {Bin.objects.count():,} bins in "
              f"{time.perf_counter() - started:.0f} s; ledger and bins agree: {not inventory_checks()}")
        sync_role_permissions()
        manager = User.objects.create_user(username="bench-manager", password="bench-pass-123")
        manager.groups.add(*__import__("django.contrib.auth.models", fromlist=["Group"]).Group.objects.filter(
            name="Logistics Manager"))
        client = Client(HTTP_HOST="localhost")
        client.force_login(manager)

        def raw(sql: str) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                cursor.fetchall()

        bins_sql = ("SELECT w.code, i.category, SUM(b.on_hand) FROM inventory_bin b JOIN inventory_warehouse w "
                    "ON w.id = b.warehouse_id JOIN inventory_item i ON i.id = b.item_id WHERE b.on_hand > 0 "
                    "GROUP BY w.code, i.category")
        ledger_sql = ("SELECT w.code, i.category, SUM(l.qty) FROM inventory_stockledgerentry l JOIN "
                      "inventory_warehouse w ON w.id = l.warehouse_id JOIN inventory_item i ON i.id = l.item_id "
                      "GROUP BY w.code, i.category")
        figures = timed(selectors.dashboard)
        page = timed(lambda: client.get("/dashboard/"))
        raw_bins = timed(lambda: raw(bins_sql))
        raw_ledger = timed(lambda: raw(ledger_sql), runs=3)
        assert client.get("/dashboard/").status_code == 200
        print(f"dashboard figures: {figures * 1000:.0f} ms; whole page: {page * 1000:.0f} ms "
              f"(target < 500 ms: {'OK' if page < 0.5 else 'MISSED'})")
        print(f"  raw DB work, stock by warehouse and category from the bins: {raw_bins * 1000:.0f} ms "
              f"(page / raw = {page / raw_bins:.1f}×)")
        print(f"  the same aggregate summed from the 1M-row ledger instead: {raw_ledger * 1000:.0f} ms")
    finally:
        drop_database(NAME)


if __name__ == "__main__":
    main()
