"""`relief check` for inventory: every bin equals the sum of its ledger rows and is not negative."""

from __future__ import annotations

from django.db import connection

from relief.inventory.models import Bin, Reservation, StockLedgerEntry


def run() -> list[str]:
    problems = []
    bins, ledger, reservations = Bin._meta.db_table, StockLedgerEntry._meta.db_table, Reservation._meta.db_table
    with connection.cursor() as cursor:
        # One grouped pass over the ledger, joined to the bins both ways.
        cursor.execute(f"""
            SELECT b.id, b.item_id, b.warehouse_id, b.lot_id, b.on_hand, COALESCE(l.total, 0)
            FROM {bins} b
            LEFT JOIN (SELECT item_id, warehouse_id, lot_id, SUM(qty) AS total FROM {ledger}
                       GROUP BY item_id, warehouse_id, lot_id) l
              ON l.item_id = b.item_id AND l.warehouse_id = b.warehouse_id AND l.lot_id = b.lot_id
            WHERE b.on_hand <> COALESCE(l.total, 0) OR b.on_hand < 0 OR b.reserved < 0 OR b.reserved > b.on_hand
        """)  # noqa: S608 - table names come from the models
        for pk, item, warehouse, lot, on_hand, total in cursor.fetchall():
            problems.append(f"bin {pk} (item {item}, warehouse {warehouse}, lot {lot}): on hand {on_hand}, "
                            f"ledger sum {total}")
        cursor.execute(f"""
            SELECT l.item_id, l.warehouse_id, l.lot_id, SUM(l.qty) FROM {ledger} l
            LEFT JOIN {bins} b ON b.item_id = l.item_id AND b.warehouse_id = l.warehouse_id AND b.lot_id = l.lot_id
            WHERE b.id IS NULL GROUP BY l.item_id, l.warehouse_id, l.lot_id
        """)  # noqa: S608
        for item, warehouse, lot, total in cursor.fetchall():
            problems.append(f"ledger rows of item {item}, warehouse {warehouse}, lot {lot} (sum {total}) have no bin")
        cursor.execute(f"""
            SELECT b.id, b.reserved, COALESCE(SUM(r.qty), 0) FROM {bins} b
            LEFT JOIN {reservations} r ON r.bin_id = b.id
            GROUP BY b.id, b.reserved HAVING b.reserved <> COALESCE(SUM(r.qty), 0)
        """)  # noqa: S608
        for pk, reserved, total in cursor.fetchall():
            problems.append(f"bin {pk}: reserved {reserved}, reservations sum {total}")
    return problems
