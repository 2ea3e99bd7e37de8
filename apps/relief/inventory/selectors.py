"""Reads for pages, API and reports. Balances now come from bins; balances in the past from the ledger."""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Case, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from relief.inventory.models import Bin, Grant, Item, MovementKind, StockLedgerEntry, Warehouse


def stock_available(*, warehouse: Warehouse, item: Item) -> int:
    """On hand − reserved of an item at a warehouse, over all its lots."""
    total = Bin.objects.filter(warehouse=warehouse, item=item).aggregate(
        available=Coalesce(Sum(F("on_hand") - F("reserved")), 0))
    return int(total["available"])


def on_hand_by_item(*, warehouse_id: int, item_ids: list[int]) -> dict[int, int]:
    """What a warehouse physically holds of each item, over all its lots (reserved or not)."""
    return dict(Bin.objects.filter(warehouse_id=warehouse_id, item_id__in=item_ids).values_list("item_id")
                .annotate(total=Sum("on_hand")).values_list("item_id", "total"))


def moved_in_by_item(*, warehouse_id: int, item_ids: list[int], since: datetime.date,
                     excluding_voucher_types: list[str]) -> dict[int, int]:
    """Net stock moved into a warehouse per item since a date, from the ledger: what came in (receipts, transfers
    and waybills received, their reversals netted), leaving out the voucher types named (e.g. hand-overs)."""
    # Inbound rows and the reversals of inbound rows (a reversal keeps its kind and negates the quantity).
    inbound = Q(qty__gt=0, is_reversal=False) | Q(qty__lt=0, is_reversal=True)
    rows = (StockLedgerEntry.objects.filter(inbound, warehouse_id=warehouse_id, item_id__in=item_ids,
                                            posting_date__gte=since,
                                            kind__in=[MovementKind.RECEIPT, MovementKind.TRANSFER])
            .exclude(voucher_type__in=excluding_voucher_types).values_list("item_id")
            .annotate(total=Sum("qty")).values_list("item_id", "total"))
    return {item_id: max(total or 0, 0) for item_id, total in rows}


def reserved_for(*, warehouse: Warehouse, item: Item, reference: str) -> int:
    from relief.inventory.models import Reservation

    total = Reservation.objects.filter(bin__warehouse=warehouse, bin__item=item, reference=reference).aggregate(
        qty=Coalesce(Sum("qty"), 0))
    return int(total["qty"])


def reserved_by_item(*, warehouse_id: int, reference: str) -> dict[int, int]:
    """Item id → quantity reserved for ``reference`` at the warehouse (items with a reservation only)."""
    from relief.inventory.models import Reservation

    return {item_id: int(qty) for item_id, qty in Reservation.objects.filter(
        bin__warehouse_id=warehouse_id, reference=reference).values_list("bin__item_id").annotate(
        qty=Sum("qty")).values_list("bin__item_id", "qty") if qty}


def warehouse_stock_summary(
    *, warehouse: Warehouse, item: Item | None = None, category: str | None = None
) -> list[dict]:
    """Per item at one warehouse: on hand, reserved, available and in transit towards it."""
    transit = Q(warehouse__parent=warehouse, warehouse__kind=Warehouse.Kind.TRANSIT)
    bins = Bin.objects.filter(Q(warehouse=warehouse) | transit)
    if item is not None:
        bins = bins.filter(item=item)
    if category:
        bins = bins.filter(item__category=category)
    here = Q(warehouse=warehouse)
    rows = (
        bins.values("item_id", "item__code", "item__name", "item__uom", "item__category")
        .annotate(
            here_on_hand=Coalesce(Sum("on_hand", filter=here), 0),
            here_reserved=Coalesce(Sum("reserved", filter=here), 0),
            in_transit=Coalesce(Sum("on_hand", filter=~here), 0),
        )
        .filter(Q(here_on_hand__gt=0) | Q(in_transit__gt=0))
        .order_by("item__code")
    )
    return [
        {"item_id": r["item_id"], "item": r["item__code"], "name": r["item__name"], "uom": r["item__uom"],
         "category": r["item__category"], "on_hand": r["here_on_hand"], "reserved": r["here_reserved"],
         "available": r["here_on_hand"] - r["here_reserved"], "in_transit": r["in_transit"]}
        for r in rows
    ]


def stock_rows(*, warehouses: QuerySet[Warehouse], item: Item | None = None) -> QuerySet[Bin]:
    """Bins with stock (per lot) in the given warehouses, for the API."""
    bins = Bin.objects.filter(warehouse__in=warehouses).filter(Q(on_hand__gt=0) | Q(reserved__gt=0))
    if item is not None:
        bins = bins.filter(item=item)
    return bins.select_related("item", "warehouse", "lot").order_by("warehouse__code", "item__code", "lot__code")


def stock_balance_as_of(*, warehouse: Warehouse, date: datetime.date, item: Item | None = None) -> dict:
    """{(item id, lot id): quantity} at the end of ``date``, summed from the ledger."""
    rows = StockLedgerEntry.objects.filter(warehouse=warehouse, posting_date__lte=date)
    if item is not None:
        rows = rows.filter(item=item)
    return {
        (r["item_id"], r["lot_id"]): r["qty"]
        for r in rows.values("item_id", "lot_id").annotate(qty=Sum("qty")).order_by() if r["qty"]
    }


@dataclasses.dataclass
class CardRow:
    date: datetime.date
    voucher_no: str
    voucher_type: str
    lot: str
    kind: str
    reason: str
    qty_in: int
    qty_out: int
    balance: int
    #: The voucher was cancelled (reversed): its rows and their reversal cancel each other out.
    cancelled: bool = False


def stock_card(*, warehouse: Warehouse, item: Item, start: datetime.date | None = None,
               end: datetime.date | None = None) -> dict:
    """The bin card: opening balance, every movement with its running balance, closing balance."""
    end = end or timezone.localdate()
    start = start or (end - datetime.timedelta(days=90))
    ledger = StockLedgerEntry.objects.filter(warehouse=warehouse, item=item)
    opening = ledger.filter(posting_date__lt=start).aggregate(q=Coalesce(Sum("qty"), 0))["q"]
    balance = opening
    rows = []
    period = ledger.filter(posting_date__gte=start, posting_date__lte=end)
    cancelled = set(ledger.filter(is_reversal=True, voucher_no__in=period.values("voucher_no"))
                    .values_list("voucher_type", "voucher_no"))
    for r in (period
              .order_by("posting_date", "posted_at", "pk")
              .values("posting_date", "voucher_no", "voucher_type", "lot__code", "kind", "reason", "qty",
                      "is_reversal")):
        balance += r["qty"]
        rows.append(CardRow(
            date=r["posting_date"], voucher_no=r["voucher_no"], voucher_type=r["voucher_type"], lot=r["lot__code"],
            kind=r["kind"], reason=("↺ " if r["is_reversal"] else "") + r["reason"],
            qty_in=max(r["qty"], 0), qty_out=max(-r["qty"], 0), balance=balance,
            cancelled=(r["voucher_type"], r["voucher_no"]) in cancelled,
        ))
    return {"warehouse": warehouse, "item": item, "start": start, "end": end, "opening": opening, "rows": rows,
            "closing": balance}


def expiring_lots(*, warehouses: QuerySet[Warehouse], days: int) -> QuerySet[Bin]:
    """Lots on hand that expire within ``days`` (or have expired), soonest first."""
    limit = timezone.localdate() + datetime.timedelta(days=days)
    return (Bin.objects.filter(warehouse__in=warehouses, on_hand__gt=0, lot__expiry__lte=limit)
            .select_related("item", "warehouse", "lot", "lot__grant__donor")
            .order_by("lot__expiry", "item__code", "warehouse__code"))


DONOR_COLUMNS = ("opening", "received", "issued", "lost", "adjusted", "kitting", "closing")


def donor_report(*, grant: Grant, start: datetime.date | None = None, end: datetime.date | None = None) -> dict:
    """Per item of a grant: opening, received, issued, lost, count adjustments, kitting, closing.

    Transfers move stock between the grant's own warehouses and add up to zero, so they are not a column;
    closing = opening + received − issued − lost + adjusted + kitting, by construction of the ledger.
    """
    end = end or timezone.localdate()
    start = start or grant.start or datetime.date(2000, 1, 1)
    ledger = StockLedgerEntry.objects.filter(lot__grant=grant, posting_date__lte=end)
    in_period = Q(posting_date__gte=start)

    def total(kind: str | None = None, sign: int = 1):
        condition = in_period & Q(kind=kind) if kind else in_period
        return Coalesce(Sum(Case(When(condition, then=F("qty") * sign), default=Value(0),
                                 output_field=IntegerField())), 0)

    rows = (
        ledger.values("item_id", "item__code", "item__name", "item__uom")
        .annotate(
            opening=Coalesce(Sum("qty", filter=~in_period), 0),
            received=total(MovementKind.RECEIPT),
            issued=total(MovementKind.ISSUE, -1),
            lost=total(MovementKind.LOSS, -1),
            adjusted=total(MovementKind.ADJUSTMENT),
            kitting=total(MovementKind.KITTING),
            transferred=total(MovementKind.TRANSFER),
        )
        .order_by("item__code")
    )
    lines = []
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        r["closing"] = (r["opening"] + r["received"] - r["issued"] - r["lost"] + r["adjusted"] + r["kitting"]
                        + r["transferred"])
        lines.append(r)
        for column in DONOR_COLUMNS:
            totals[column] += r[column]
    return {"grant": grant, "start": start, "end": end, "rows": lines, "totals": dict(totals)}


VALUE_COLUMNS = ("opening", "received", "issued", "lost", "closing")


def donor_report_values(*, grant: Grant, start: datetime.date | None = None,
                        end: datetime.date | None = None) -> dict:
    """The donor report in money: per item and currency, each movement × the unit value of its lot.

    Units from lots with no value (kitted lots, receipts entered without a price) are counted apart, never
    valued at zero, so a total is never smaller than it looks.
    """
    end = end or timezone.localdate()
    start = start or grant.start or datetime.date(2000, 1, 1)
    ledger = StockLedgerEntry.objects.filter(lot__grant=grant, posting_date__lte=end)
    in_period = Q(posting_date__gte=start)
    value = F("qty") * F("lot__unit_value")

    def total(kind: str, sign: int) -> Coalesce:
        return Coalesce(Sum(Case(When(in_period & Q(kind=kind), then=value * sign), default=Value(0),
                                 output_field=DecimalField(max_digits=24, decimal_places=2))), Value(0),
                        output_field=DecimalField(max_digits=24, decimal_places=2))

    rows = list(
        ledger.filter(lot__unit_value__isnull=False)
        .values("item__code", "item__name", "lot__currency")
        .annotate(opening=Coalesce(Sum(value, filter=~in_period), Value(0),
                                   output_field=DecimalField(max_digits=24, decimal_places=2)),
                  received=total(MovementKind.RECEIPT, 1), issued=total(MovementKind.ISSUE, -1),
                  lost=total(MovementKind.LOSS, -1),
                  closing=Coalesce(Sum(value), Value(0), output_field=DecimalField(max_digits=24, decimal_places=2)))
        .order_by("lot__currency", "item__code"))
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(VALUE_COLUMNS, Decimal(0)))
    for r in rows:
        r["currency"] = r.pop("lot__currency")
        for column in VALUE_COLUMNS:
            totals[r["currency"]][column] += r[column]
    unvalued = dict(ledger.filter(lot__unit_value__isnull=True).values("item__code").annotate(q=Sum("qty"))
                    .filter(q__gt=0).values_list("item__code", "q").order_by("item__code"))
    return {"grant": grant, "start": start, "end": end, "rows": rows,
            "totals": [{"currency": c, **t} for c, t in sorted(totals.items())], "unvalued": unvalued}
