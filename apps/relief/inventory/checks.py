"""`relief check` for inventory: every bin equals the sum of its ledger rows and is not negative; reservations
add up to what the bins hold reserved; every waybill agrees with its entry, its lines and the stock in transit."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Q, Sum

from relief.core.documents import DocStatus
from relief.inventory.models import Bin, Reservation, StockLedgerEntry, Warehouse, Waybill, WaybillLine


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
    return problems + waybill_problems()


def waybill_problems() -> list[str]:
    """A waybill's state agrees with its transfer entry and its lines, and what sits in a transit warehouse is
    exactly what the waybills still in transit carry."""
    problems = []
    W = Waybill.Status
    disagree = Waybill.objects.filter(
        (Q(status=W.CANCELLED) & ~Q(entry__status=DocStatus.CANCELLED))
        | (Q(status__in=[W.IN_TRANSIT, W.RECEIVED]) & ~Q(entry__status=DocStatus.SUBMITTED)))
    for number, status, entry_status in disagree.values_list("number", "status", "entry__status")[:20]:
        problems.append(f"waybill {number} is {status} but its entry is {entry_status}")
    lines = WaybillLine.objects.filter(
        (Q(waybill__status=W.RECEIVED) & Q(qty_received__isnull=True))
        | (~Q(waybill__status=W.RECEIVED) & Q(qty_received__isnull=False)))
    for number in lines.values_list("waybill__number", flat=True).distinct()[:20]:
        problems.append(f"waybill {number}: its lines' received quantities disagree with its state")
    carried: dict[tuple[int, int, int], int] = defaultdict(int)
    for transit, item, lot, qty in (WaybillLine.objects.filter(waybill__status=W.IN_TRANSIT)
                                    .values_list("waybill__transit_id", "item_id", "lot_id")
                                    .annotate(q=Sum("qty_dispatched")).values_list("waybill__transit_id", "item_id",
                                                                                   "lot_id", "q")):
        carried[(transit, item, lot)] += qty
    held = {(w, i, lot): q for w, i, lot, q in Bin.objects.filter(warehouse__kind=Warehouse.Kind.TRANSIT)
            .exclude(on_hand=0).values_list("warehouse_id", "item_id", "lot_id", "on_hand")}
    for key in sorted(set(carried) | set(held)):
        if carried.get(key, 0) != held.get(key, 0):
            transit, item, lot = key
            problems.append(f"in transit at warehouse {transit}, item {item}, lot {lot}: the bins hold "
                            f"{held.get(key, 0)}, the waybills in transit carry {carried.get(key, 0)}")
    return problems
