"""Stock API: balances, stock entries (draft → submit → cancel), waybill receipts."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from relief.inventory import access, selectors, services
from relief.inventory.models import Item, StockEntry, Warehouse, Waybill

router = Router(tags=["inventory"])


class ApiError(Schema):
    detail: str


class StockRow(Schema):
    warehouse: str
    item: str
    lot: str
    on_hand: int
    reserved: int
    available: int


def _unknown(what: str, code: str) -> Status:
    return Status(404, {"detail": _("unknown %(what)s '%(code)s'") % {"what": what, "code": code}})


@router.get("/stock", response={200: list[StockRow], 403: ApiError, 404: ApiError})
def stock(request, warehouse: str | None = None, item: str | None = None):
    """Balances per lot; filter by warehouse and item code. Only the warehouses you work at are shown."""
    access.require_reader(request.user)
    warehouses = access.warehouses_visible(request.user)
    if warehouse:
        found = Warehouse.objects.filter(code=warehouse).first()
        if found is None:
            return _unknown(_("warehouse"), warehouse)
        warehouses = Warehouse.objects.filter(pk=access.warehouse_for(request.user, found).pk)
    item_obj = None
    if item:
        item_obj = Item.objects.filter(code=item).first()
        if item_obj is None:
            return _unknown(_("item"), item)
    return Status(200, [
        {"warehouse": b.warehouse.code, "item": b.item.code, "lot": b.lot.code, "on_hand": b.on_hand,
         "reserved": b.reserved, "available": b.on_hand - b.reserved}
        for b in selectors.stock_rows(warehouses=warehouses, item=item_obj)
    ])


class StockEntryLineIn(Schema):
    item: str = Field(min_length=1, max_length=30)
    qty: int = Field(ge=1, le=10_000_000)
    source: str | None = None
    target: str | None = None
    lot: str | None = None
    batch: str = Field("", max_length=40)
    expiry: datetime.date | None = None
    expected_qty: int | None = Field(None, ge=0)
    condition: str = Field("", max_length=200)
    unit_value: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    currency: str = Field("", max_length=3)


class EntryIn(Schema):
    type: Literal["receipt", "issue", "transfer", "kitting", "dekitting"]
    purpose: Literal["", "distribution", "loan", "write-off"] = ""
    reason: Literal["", "damaged", "expired", "lost", "stolen"] = ""
    grant: str | None = None
    supplier: str = Field("", max_length=120)
    reference: str = Field("", max_length=60)
    posting_date: datetime.date | None = None
    remarks: str = Field("", max_length=2000)
    lines: list[StockEntryLineIn] = Field(min_length=1, max_length=1000)


class EntryOut(Schema):
    number: str
    status: str


class EntryDetail(EntryOut):
    type: str
    posting_date: datetime.date
    waybill: str | None = None
    lines: list[dict]


class CancelIn(Schema):
    reason: str = Field("", max_length=200)


@router.post("/stock-entries", response={201: EntryOut, 403: ApiError, 422: ApiError})
def stock_entry_create(request, payload: EntryIn):
    """Draft a stock entry. Items, warehouses, lots and grants are named by their codes."""
    access.require_poster(request.user)
    entry = services.stock_entry_create(
        entry_type=payload.type, purpose=payload.purpose, reason=payload.reason, grant=payload.grant,
        supplier=payload.supplier, reference=payload.reference, posting_date=payload.posting_date,
        remarks=payload.remarks, user=request.user,
        lines=[services.LineData(**line.dict()) for line in payload.lines],
        can_post_at=lambda warehouse: access.can_post_at(request.user, warehouse),
    )
    return Status(201, {"number": entry.number, "status": entry.status})


def _entry(request, number: str, *, post: bool) -> StockEntry | None:
    entry = StockEntry.objects.filter(number=number).first()
    return access.entry_for(request.user, entry, for_write=post) if entry is not None else None


@router.get("/stock-entries/{number}", response={200: EntryDetail, 403: ApiError, 404: ApiError})
def stock_entry_detail(request, number: str):
    entry = _entry(request, number, post=False)
    if entry is None:
        return _unknown(_("stock entry"), number)
    waybill = Waybill.objects.filter(entry=entry).values_list("number", flat=True).first()
    lines = [
        {"item": ln.item.code, "qty": ln.qty, "source": ln.source.code if ln.source else None,
         "target": ln.target.code if ln.target else None, "lot": ln.lot.code if ln.lot else None}
        for ln in entry.lines.select_related("item", "source", "target", "lot").order_by("pk")
    ]
    return Status(200, {"number": entry.number, "status": entry.status, "type": entry.entry_type,
                        "posting_date": entry.posting_date, "waybill": waybill, "lines": lines})


@router.post("/stock-entries/{number}/submit", response={200: EntryOut, 403: ApiError, 404: ApiError,
                                                          409: ApiError})
def stock_entry_submit(request, number: str):
    """Post the entry; 409 with the reason when stock is short (nothing is posted)."""
    entry = _entry(request, number, post=True)
    if entry is None:
        return _unknown(_("stock entry"), number)
    entry = services.stock_entry_submit(entry=entry, user=request.user)
    return Status(200, {"number": entry.number, "status": entry.status})


@router.post("/stock-entries/{number}/cancel", response={200: EntryOut, 403: ApiError, 404: ApiError,
                                                          409: ApiError})
def stock_entry_cancel(request, number: str, payload: CancelIn | None = None):
    """Reverse a submitted entry with new ledger rows."""
    entry = _entry(request, number, post=True)
    if entry is None:
        return _unknown(_("stock entry"), number)
    entry = services.stock_entry_cancel(entry=entry, user=request.user, reason=payload.reason if payload else "")
    return Status(200, {"number": entry.number, "status": entry.status})


class ReceiveLineIn(Schema):
    line: int
    received: int = Field(ge=0)
    short: int = Field(0, ge=0)
    damaged: int = Field(0, ge=0)
    remarks: str = Field("", max_length=200)


class ReceiveIn(Schema):
    lines: list[ReceiveLineIn] = Field(min_length=1)
    remarks: str = Field("", max_length=2000)


class WaybillOut(Schema):
    number: str
    status: str


@router.post("/waybills/{number}/receive", response={200: WaybillOut, 403: ApiError, 404: ApiError,
                                                     409: ApiError, 422: ApiError})
def waybill_receive(request, number: str, payload: ReceiveIn):
    """Receive a waybill: per line (ids from the waybill) received, short and damaged."""
    found = Waybill.objects.filter(number=number).first()
    if found is None:
        return _unknown(_("waybill"), number)
    waybill = access.waybill_for(request.user, found, for_write=True)
    waybill = services.waybill_receive(
        waybill=waybill, user=request.user, remarks=payload.remarks,
        lines=[services.ReceivedLine(line_id=ln.line, received=ln.received, short=ln.short, damaged=ln.damaged,
                                     remarks=ln.remarks) for ln in payload.lines],
    )
    return Status(200, {"number": waybill.number, "status": waybill.status})
