"""Every change to stock: one function per business action, all posting through ``stock_post``.

``stock_post`` is the single place that writes bins and ledger rows. It locks every bin of every
(item, warehouse) pair involved in one query, in (item, warehouse, lot) order (the house lock order of
``relief.core.locks``), so two postings can
never deadlock on bins; picks lots first-expiry-first-out then first-in-first-out; refuses to
take more than is available (on hand − reserved) with a message naming item, warehouse, available
and requested; then writes the ledger rows and the bins in one statement each.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.db import retry_on_deadlock
from relief.core.documents import DocumentError
from relief.core.faults import fault_point
from relief.core.locks import Rank, lock_raw
from relief.core.naming import naming_next
from relief.core.services import document_cancel, document_lifecycle, document_submit
from relief.inventory.models import (
    CURRENCIES,
    Bin,
    EntryType,
    Grant,
    IssuePurpose,
    Item,
    Kit,
    Lot,
    MovementKind,
    PhysicalCount,
    PhysicalCountLine,
    Reservation,
    StockEntry,
    StockEntryLine,
    StockLedgerEntry,
    Warehouse,
    Waybill,
    WaybillLine,
    WriteOffReason,
)

VOUCHER_ENTRY = "stock_entry"
VOUCHER_WAYBILL_RECEIPT = "waybill_receipt"
VOUCHER_COUNT = "count"

#: Lines posted per transaction when a count is submitted as a job.
COUNT_CHUNK = 500


class InsufficientStock(DocumentError):
    """A posting would take more than is available; nothing was posted."""

    def __init__(self, *, item: str, warehouse: str, available: int, requested: int, lot: str | None = None):
        self.item, self.warehouse, self.available, self.requested, self.lot = (
            item, warehouse, available, requested, lot)
        if lot:
            message = _("Not enough %(item)s (lot %(lot)s) at %(warehouse)s: available %(available)d, "
                        "requested %(requested)d")
        else:
            message = _("Not enough %(item)s at %(warehouse)s: available %(available)d, requested %(requested)d")
        super().__init__(message % {"item": item, "lot": lot, "warehouse": warehouse, "available": available,
                                    "requested": requested})


@dataclasses.dataclass(frozen=True)
class Move:
    """One line of a posting.

    With a source and no lot, the quantity is picked from the source's lots (FEFO, then FIFO) and,
    with a target too, lands in the target under the same lots. With a lot, only that lot moves.
    ``set_to`` (counts) makes the lot's balance at ``target`` equal to it, whatever it is now.
    """

    item_id: int
    qty: int = 0
    source_id: int | None = None
    target_id: int | None = None
    lot_id: int | None = None
    kind: str = MovementKind.ISSUE
    reason: str = ""
    grant_id: int | None = None
    set_to: int | None = None


def _fefo_key(lot: Lot) -> tuple:
    # Lots without expiry go after every dated lot; then oldest received first.
    return (lot.expiry is None, lot.expiry or datetime.date.max, lot.received_date, lot.pk)


def _lock_bins(pairs: set[tuple[int, int]]) -> list[Bin]:
    """Every bin of the (item, warehouse) pairs, locked in (item, warehouse, lot) order: the house lock order.

    InnoDB locks rows as its scan reads them, before any ORDER BY: the scan must walk the
    (item, warehouse, lot) unique index, not the (warehouse, item) one, or two postings lock in
    different orders. No join here: FOR UPDATE would lock the joined lot rows too, and lots are shared.
    """
    if not pairs:
        return []
    ordered = sorted(pairs)
    where = " OR ".join(["(item_id = %s AND warehouse_id = %s)"] * len(ordered))
    # SQLite (the embedded default) has no row locks and no FOR UPDATE: its one writer at a time serialises postings.
    mysql = connection.vendor == "mysql"
    index = "FORCE INDEX (bin_unique_item_warehouse_lot)" if mysql else ""
    lock = "FOR UPDATE" if mysql else ""
    sql = (f"SELECT id, item_id, warehouse_id, lot_id, on_hand, reserved FROM {Bin._meta.db_table} {index} "  # noqa: S608
           f"WHERE {where} ORDER BY item_id, warehouse_id, lot_id {lock}")
    return lock_raw(Rank.BIN, Bin, sql, [key for pair in ordered for key in pair])


def _names(model, pk: int, field: str = "code") -> str:
    return model.objects.filter(pk=pk).values_list(field, flat=True).first() or str(pk)


def _short(*, item_id: int, warehouse_id: int, available: int, requested: int, lot_id: int | None = None):
    return InsufficientStock(
        item=_names(Item, item_id), warehouse=_names(Warehouse, warehouse_id), available=available,
        requested=requested, lot=_names(Lot, lot_id) if lot_id else None,
    )


def _create_bins(keys: list[tuple[int, int, int]]) -> list[Bin]:
    """Create missing bins; a concurrent first insert of the same key is taken over (as ERPNext's bin.py)."""
    try:
        with transaction.atomic():
            return Bin.objects.bulk_create([Bin(item_id=i, warehouse_id=w, lot_id=lot) for i, w, lot in keys])
    except IntegrityError:
        made = []
        for i, w, lot in keys:
            try:
                with transaction.atomic():
                    made.append(Bin.objects.create(item_id=i, warehouse_id=w, lot_id=lot))
            except IntegrityError:
                made.append(Bin.objects.select_for_update().get(item_id=i, warehouse_id=w, lot_id=lot))
        return made


@transaction.atomic
def stock_post(
    *,
    moves: Sequence[Move],
    voucher_type: str,
    voucher_no: str,
    user,
    posting_date: datetime.date | None = None,
    reservation_reference: str | None = None,
    is_reversal: bool = False,
    extra_pairs: Iterable[tuple[int, int]] = (),
) -> list[list[tuple[int, int]]]:
    """Post moves to the ledger and bins, all or nothing; return, per move, the (lot id, qty) it moved.

    ``reservation_reference`` lets outgoing moves use what that reference reserved (and consumes it);
    without it, reserved stock is never taken. ``extra_pairs`` are locked too, for a caller that posts
    again in the same transaction and must keep the lock order.
    """
    posting_date = posting_date or timezone.localdate()
    pairs = set(extra_pairs)
    for move in moves:
        if move.set_to is None and move.qty <= 0:
            raise ValueError("a move needs a positive quantity")
        for warehouse_id in (move.source_id, move.target_id):
            if warehouse_id is not None:
                pairs.add((move.item_id, warehouse_id))
    bins = {(b.item_id, b.warehouse_id, b.lot_id): b for b in _lock_bins(pairs)}
    by_pair: dict[tuple[int, int], list[Bin]] = defaultdict(list)
    for b in bins.values():
        by_pair[(b.item_id, b.warehouse_id)].append(b)

    own: dict[int, Reservation] = {}
    if reservation_reference and bins:
        own = {r.bin_id: r for r in Reservation.objects.filter(
            bin_id__in=[b.pk for b in bins.values()], reference=reservation_reference)}
    lots = Lot.objects.in_bulk({b.lot_id for b in bins.values()})
    for candidates in by_pair.values():
        # Reserved-for-this-reference stock first, then free stock; each first-expiry-first-out.
        candidates.sort(key=lambda b: (b.pk not in own, _fefo_key(lots[b.lot_id])))

    def usable(b: Bin) -> int:
        return b.on_hand - b.reserved + (own[b.pk].qty if b.pk in own else 0)

    deltas: dict[tuple[int, int, int], int] = defaultdict(int)
    rows: list[StockLedgerEntry] = []
    results: list[list[tuple[int, int]]] = []
    now = timezone.now()

    def row(move: Move, warehouse_id: int, lot_id: int, qty: int) -> None:
        deltas[(move.item_id, warehouse_id, lot_id)] += qty
        rows.append(StockLedgerEntry(
            item_id=move.item_id, warehouse_id=warehouse_id, lot_id=lot_id, qty=qty, posting_date=posting_date,
            posted_at=now, voucher_type=voucher_type, voucher_no=voucher_no, kind=move.kind,
            reason=move.reason[:120], is_reversal=is_reversal, created_by=user if user and user.pk else None,
        ))

    def take(b: Bin, qty: int) -> None:
        from_reserved = min(qty, own[b.pk].qty) if b.pk in own else 0
        if from_reserved:
            own[b.pk].qty -= from_reserved
            b.reserved -= from_reserved
        b.on_hand -= qty

    for move in moves:
        picks: list[tuple[int, int]] = []
        if move.set_to is not None:
            warehouse_id = move.target_id
            b = bins.get((move.item_id, warehouse_id, move.lot_id))
            current = b.on_hand if b else deltas[(move.item_id, warehouse_id, move.lot_id)]
            change = move.set_to - current
            if change < 0:
                if b is None or usable(b) < -change:
                    # Counting below what is reserved would break a planned distribution: release it first.
                    raise _short(item_id=move.item_id, warehouse_id=warehouse_id, lot_id=move.lot_id,
                                 available=usable(b) if b else 0, requested=-change)
                take(b, -change)
            elif change > 0 and b is not None:
                b.on_hand += change
            if change:
                row(move, warehouse_id, move.lot_id, change)
                picks.append((move.lot_id, change))
            results.append(picks)
            continue
        if move.source_id is not None:
            candidates = by_pair[(move.item_id, move.source_id)]
            if move.lot_id is not None:
                candidates = [b for b in candidates if b.lot_id == move.lot_id]
            elif move.grant_id is not None:
                candidates = [b for b in candidates if lots[b.lot_id].grant_id == move.grant_id]
            available = sum(max(usable(b), 0) for b in candidates)
            if available < move.qty:
                raise _short(item_id=move.item_id, warehouse_id=move.source_id, lot_id=move.lot_id,
                             available=available, requested=move.qty)
            need = move.qty
            for b in candidates:
                qty = min(need, usable(b))
                if qty <= 0:
                    continue
                take(b, qty)
                row(move, move.source_id, b.lot_id, -qty)
                picks.append((b.lot_id, qty))
                need -= qty
                if not need:
                    break
        else:
            if move.lot_id is None:
                raise ValueError("an incoming move needs its lot")
            picks.append((move.lot_id, move.qty))
        if move.target_id is not None and move.set_to is None:
            for lot_id, qty in picks:
                row(move, move.target_id, lot_id, qty)
                b = bins.get((move.item_id, move.target_id, lot_id))
                if b is not None:
                    b.on_hand += qty
        results.append(picks)

    missing = sorted(key for key, delta in deltas.items() if key not in bins and delta)
    for b in _create_bins(missing) if missing else ():
        # A bin a concurrent posting created first already holds its stock: add to it, never overwrite.
        b.on_hand += deltas[(b.item_id, b.warehouse_id, b.lot_id)]
        bins[(b.item_id, b.warehouse_id, b.lot_id)] = b
    changed = [bins[key] for key, delta in deltas.items() if delta]
    for b in changed:
        if b.on_hand < 0:  # an incoming and an outgoing move of one posting cannot cover each other
            raise _short(item_id=b.item_id, warehouse_id=b.warehouse_id, lot_id=b.lot_id,
                         available=b.on_hand - deltas[(b.item_id, b.warehouse_id, b.lot_id)],
                         requested=-deltas[(b.item_id, b.warehouse_id, b.lot_id)])
    # Absolute values are safe: every one of these bins is locked by this transaction.
    Bin.objects.bulk_update(changed, ["on_hand", "reserved"])
    if own:
        used = [r for r in own.values() if r.qty > 0]
        if used:
            Reservation.objects.bulk_update(used, ["qty"])
        spent = [r.pk for r in own.values() if r.qty == 0]
        if spent:
            Reservation.objects.filter(pk__in=spent).delete()
    StockLedgerEntry.objects.bulk_create(rows)
    fault_point("posting")  # tests only: a SIGKILL lands here, inside the posting's transaction
    return results


def _reversal_moves(voucher_type: str, voucher_no: str) -> list[Move]:
    rows = list(StockLedgerEntry.objects.filter(voucher_type=voucher_type, voucher_no=voucher_no)
                .values_list("item_id", "warehouse_id", "lot_id", "qty", "kind", "reason", "is_reversal"))
    if any(r[6] for r in rows):
        raise DocumentError(_("%(voucher)s has already been reversed") % {"voucher": voucher_no})
    # Give back what went out before taking back what came in: the bins pass through no false shortage.
    rows.sort(key=lambda r: r[3] > 0)
    return [
        Move(item_id=i, lot_id=lot, qty=qty, source_id=w, kind=kind, reason=reason) if qty > 0
        else Move(item_id=i, lot_id=lot, qty=-qty, target_id=w, kind=kind, reason=reason)
        for i, w, lot, qty, kind, reason, _rev in rows
    ]


@retry_on_deadlock
def stock_reverse_voucher(*, voucher_type: str, voucher_no: str, user) -> int:
    """Post the negated rows of a voucher (a cancelled document or redemption); returns the rows posted."""
    with transaction.atomic():
        moves = _reversal_moves(voucher_type, voucher_no)
        if not moves:
            return 0
        _lock_bins({(m.item_id, m.source_id or m.target_id) for m in moves})
        # Re-read under the locks: a concurrent reversal of the same voucher has now either committed or not.
        moves = _reversal_moves(voucher_type, voucher_no)
        stock_post(moves=moves, voucher_type=voucher_type, voucher_no=voucher_no, user=user, is_reversal=True)
        return len(moves)


# --- the interface distribution calls ------------------------------------------------------------------------


@retry_on_deadlock
def stock_issue_for_voucher(
    *,
    warehouse: Warehouse,
    lines: list[tuple[Item, int]],
    voucher_type: str,
    voucher_no: str,
    user,
    reservation_reference: str | None = None,
) -> list[tuple[Lot, int]]:
    """Issue stock for a voucher that is not a stock entry (a redemption), FEFO then FIFO.

    Works inside the caller's transaction. Uses and consumes ``reservation_reference``'s reservation first.
    Takes no naming-series number: a shared counter would serialise every scanning lane.
    """
    with transaction.atomic():
        moves = [Move(item_id=item.pk, qty=qty, source_id=warehouse.pk, kind=MovementKind.ISSUE,
                      reason=IssuePurpose.DISTRIBUTION) for item, qty in lines if qty]
        if not moves:
            return []
        picked = stock_post(moves=moves, voucher_type=voucher_type, voucher_no=voucher_no, user=user,
                            reservation_reference=reservation_reference)
        lots = Lot.objects.in_bulk({lot_id for picks in picked for lot_id, _ in picks})
        return [(lots[lot_id], qty) for picks in picked for lot_id, qty in picks]


@retry_on_deadlock
def reservation_set(*, warehouse: Warehouse, item: Item, reference: str, qty: int, user) -> None:
    """Make the quantity reserved for ``reference`` at the warehouse exactly ``qty`` (0 releases it).

    Checked against available = on hand − reserved with the item's bins locked, so concurrent
    reservations can never together reserve more than is there.
    """
    if qty < 0:
        raise ValidationError({"qty": _("must be 0 or more")})
    if not reference or len(reference) > 60:
        raise ValidationError({"reference": _("give a reference of 1 to 60 characters")})
    with transaction.atomic():
        bins = _lock_bins({(item.pk, warehouse.pk)})
        held = {r.bin_id: r for r in Reservation.objects.filter(bin__in=bins, reference=reference)}
        change = qty - sum(r.qty for r in held.values())
        if not change:
            return
        lots = Lot.objects.in_bulk({b.lot_id for b in bins})
        bins.sort(key=lambda b: _fefo_key(lots[b.lot_id]))
        now = timezone.now()
        touched: list[Bin] = []
        if change > 0:
            available = sum(b.on_hand - b.reserved for b in bins)
            if available < change:
                raise InsufficientStock(item=item.code, warehouse=warehouse.code, available=available,
                                        requested=change)
            for b in bins:
                part = min(change, b.on_hand - b.reserved)
                if part <= 0:
                    continue
                b.reserved += part
                touched.append(b)
                if b.pk in held:
                    held[b.pk].qty += part
                else:
                    held[b.pk] = Reservation(bin=b, reference=reference, qty=part)
                change -= part
                if not change:
                    break
        else:
            # Release the latest-expiring first, so what stays reserved is what should leave first.
            for b in reversed(bins):
                r = held.get(b.pk)
                if r is None or not r.qty:
                    continue
                part = min(-change, r.qty)
                r.qty -= part
                b.reserved -= part
                touched.append(b)
                change += part
                if not change:
                    break
        Bin.objects.bulk_update(touched, ["reserved"])
        for r in held.values():
            r.updated_at, r.updated_by = now, user
        new = [r for r in held.values() if r.pk is None]
        kept = [r for r in held.values() if r.pk and r.qty]
        released = [r.pk for r in held.values() if r.pk and not r.qty]
        Reservation.objects.bulk_create(new)
        Reservation.objects.bulk_update(kept, ["qty", "updated_at", "updated_by"])
        Reservation.objects.filter(pk__in=released).delete()


# --- stock entries ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class LineData:
    item: str
    qty: int
    source: str | None = None
    target: str | None = None
    lot: str | None = None
    batch: str = ""
    expiry: datetime.date | None = None
    expected_qty: int | None = None
    condition: str = ""
    unit_value: Decimal | None = None
    currency: str = ""


def _needs(entry_type: str) -> tuple[bool, bool]:
    """(needs a source, needs a target) for each entry type."""
    return {
        EntryType.RECEIPT: (False, True),
        EntryType.ISSUE: (True, False),
        EntryType.TRANSFER: (True, True),
        EntryType.KITTING: (True, True),
        EntryType.DEKITTING: (True, True),
    }[entry_type]


def stock_entry_create(
    *,
    entry_type: str,
    lines: list[LineData],
    user,
    purpose: str = "",
    reason: str = "",
    grant: str | None = None,
    supplier: str = "",
    reference: str = "",
    posting_date: datetime.date | None = None,
    remarks: str = "",
    can_post_at: Callable[[Warehouse], bool] | None = None,
) -> StockEntry:
    """Draft a stock entry from codes; every problem is reported at once, naming its field, and nothing is saved.

    ``can_post_at`` is the caller's scope check for each warehouse named (Warehouse Staff post only at theirs);
    a warehouse out of scope is refused with PermissionDenied.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    if entry_type not in EntryType.values:
        raise ValidationError({"type": _("must be one of %(choices)s") % {"choices": ", ".join(EntryType.values)}})
    if entry_type == EntryType.ISSUE:
        if purpose not in IssuePurpose.values:
            errors["purpose"].append(_("an issue needs a purpose: %(choices)s") % {
                "choices": ", ".join(IssuePurpose.values)})
        elif purpose == IssuePurpose.WRITE_OFF and reason not in WriteOffReason.values:
            errors["reason"].append(_("a write-off needs a reason: %(choices)s") % {
                "choices": ", ".join(WriteOffReason.values)})
    elif purpose or reason:
        errors["purpose"].append(_("only an issue has a purpose and reason"))
    if posting_date and posting_date > timezone.localdate():
        errors["posting_date"].append(_("cannot be in the future"))
    grant_obj = None
    if grant:
        grant_obj = Grant.objects.filter(code=grant).first()
        if grant_obj is None:
            errors["grant"].append(_("unknown grant '%(code)s'") % {"code": grant})
    if not lines:
        errors["lines"].append(_("add at least one line"))
    items = Item.objects.in_bulk({ln.item for ln in lines}, field_name="code")
    warehouses = Warehouse.objects.in_bulk(
        {c for ln in lines for c in (ln.source, ln.target) if c}, field_name="code")
    lots = Lot.objects.in_bulk({ln.lot for ln in lines if ln.lot}, field_name="code")
    kits = set(Kit.objects.filter(item__code__in=items).values_list("item__code", flat=True)) \
        if entry_type in (EntryType.KITTING, EntryType.DEKITTING) else set()
    needs_source, needs_target = _needs(entry_type)
    built = []
    for n, ln in enumerate(lines):
        where = f"lines.{n}"
        item = items.get(ln.item)
        if item is None:
            errors[f"{where}.item"].append(_("unknown item '%(code)s'") % {"code": ln.item})
        if not isinstance(ln.qty, int) or ln.qty < 1:
            errors[f"{where}.qty"].append(_("must be a whole number of at least 1"))
        ends = {}
        for name, needed in (("source", needs_source), ("target", needs_target)):
            code = getattr(ln, name)
            if not code:
                if needed:
                    errors[f"{where}.{name}"].append(_("required for a %(type)s") % {"type": entry_type})
                ends[name] = None
                continue
            if not needed:
                errors[f"{where}.{name}"].append(_("not used by a %(type)s") % {"type": entry_type})
                continue
            warehouse = warehouses.get(code)
            if warehouse is None:
                errors[f"{where}.{name}"].append(_("unknown warehouse '%(code)s'") % {"code": code})
            elif warehouse.kind in (Warehouse.Kind.REGION, Warehouse.Kind.TRANSIT) or not warehouse.is_active:
                errors[f"{where}.{name}"].append(_("%(code)s does not hold stock directly") % {"code": code})
            elif can_post_at is not None and not can_post_at(warehouse):
                raise PermissionDenied(_("You do not post stock at %(code)s.") % {"code": code})
            ends[name] = warehouse
        if entry_type == EntryType.TRANSFER and ln.source and ln.source == ln.target:
            errors[f"{where}.target"].append(_("must differ from the source"))
        lot = None
        if ln.lot:
            lot = lots.get(ln.lot)
            if entry_type == EntryType.RECEIPT:
                errors[f"{where}.lot"].append(_("a receipt creates its lots; give batch and expiry instead"))
            elif lot is None or (item is not None and lot.item_id != item.pk):
                errors[f"{where}.lot"].append(_("unknown lot '%(code)s' for this item") % {"code": ln.lot})
        if item is not None:
            if entry_type == EntryType.RECEIPT and item.tracks_expiry and not ln.expiry:
                errors[f"{where}.expiry"].append(_("%(item)s tracks expiry: give the expiry date") % {
                    "item": item.code})
            if entry_type == EntryType.RECEIPT and item.tracks_batches and not ln.batch:
                errors[f"{where}.batch"].append(_("%(item)s tracks batches: give the batch number") % {
                    "item": item.code})
            if entry_type in (EntryType.KITTING, EntryType.DEKITTING) and item.code not in kits:
                errors[f"{where}.item"].append(_("%(item)s is not a kit") % {"item": item.code})
        for field, problem in _value_problems(ln, entry_type):
            errors[f"{where}.{field}"].append(problem)
        built.append(StockEntryLine(
            item=item, qty=ln.qty, source=ends.get("source"), target=ends.get("target"), lot=lot,
            batch=ln.batch[:40], expiry=ln.expiry, expected_qty=ln.expected_qty, condition=ln.condition[:200],
            unit_value=ln.unit_value, currency=ln.currency if ln.unit_value is not None else "",
        ))
    if entry_type == EntryType.TRANSFER and len({(ln.source, ln.target) for ln in lines}) > 1:
        errors["lines"].append(_("a transfer goes from one warehouse to one other: one waybill per truck"))
    if errors:
        raise ValidationError(dict(errors))
    with transaction.atomic():
        entry = StockEntry.objects.create(
            entry_type=entry_type, purpose=purpose, reason=reason, grant=grant_obj, supplier=supplier[:120],
            reference=reference[:60], posting_date=posting_date or timezone.localdate(), remarks=remarks,
            created_by=user,
        )
        for line in built:
            line.entry = entry
        StockEntryLine.objects.bulk_create(built)
    return entry


def _value_problems(line: LineData, entry_type: str) -> list[tuple[str, str]]:
    """A unit value belongs on a receipt line, is not negative, and names a known currency."""
    if line.unit_value is None:
        return [("currency", _("give the unit value that goes with the currency"))] if line.currency else []
    if entry_type != EntryType.RECEIPT:
        return [("unit_value", _("only a receipt sets the value of its lots"))]
    problems = []
    if line.unit_value < 0 or line.unit_value >= Decimal("1e12"):
        problems.append(("unit_value", _("must be 0 or more (and under 10¹²)")))
    if line.currency not in dict(CURRENCIES):
        problems.append(("currency", _("one of %(choices)s") % {"choices": ", ".join(dict(CURRENCIES))}))
    return problems


def transit_of(warehouse: Warehouse) -> Warehouse:
    """The in-transit child of a warehouse, where goods dispatched to it wait for receipt."""
    code = f"{warehouse.code[:16]}-TR"
    transit, _created = Warehouse.objects.get_or_create(
        code=code, defaults={"name": (_("In transit to %(name)s") % {"name": warehouse.name})[:100],
                             "kind": Warehouse.Kind.TRANSIT, "parent": warehouse, "site": warehouse.site},
    )
    return transit


def _new_lot(*, number: str, n: int, item_id: int, grant_id, batch: str, expiry, received: datetime.date,
             unit_value: Decimal | None = None, currency: str = "") -> Lot:
    return Lot(code=f"{number}-{n}", item_id=item_id, grant_id=grant_id, batch=batch, expiry=expiry,
               received_date=received, source=number, unit_value=unit_value,
               currency=currency if unit_value is not None else "")


def stock_entry_problems(*, entry: StockEntry, lines: list[StockEntryLine]) -> list[str]:
    """What stops a draft (however it was made: API or desk) from posting, all at once."""
    problems = []
    if not lines:
        problems.append(_("%(number)s has no lines") % {"number": entry.number})
    if entry.entry_type == EntryType.ISSUE and entry.purpose not in IssuePurpose.values:
        problems.append(_("an issue needs a purpose"))
    if entry.purpose == IssuePurpose.WRITE_OFF and entry.reason not in WriteOffReason.values:
        problems.append(_("a write-off needs a reason"))
    needs_source, needs_target = _needs(entry.entry_type)
    kitting = entry.entry_type in (EntryType.KITTING, EntryType.DEKITTING)
    kits = set(Kit.objects.filter(item_id__in=[ln.item_id for ln in lines]).values_list("item_id", flat=True)) \
        if kitting else set()
    for n, ln in enumerate(lines, start=1):
        for warehouse, needed, label in ((ln.source, needs_source, _("from")), (ln.target, needs_target, _("to"))):
            if needed and warehouse is None:
                problems.append(_("line %(n)d: '%(field)s' is required") % {"n": n, "field": label})
            elif not needed and warehouse is not None:
                problems.append(_("line %(n)d: '%(field)s' is not used") % {"n": n, "field": label})
            elif warehouse is not None and warehouse.kind in (Warehouse.Kind.REGION, Warehouse.Kind.TRANSIT):
                problems.append(_("line %(n)d: %(code)s does not hold stock directly") % {"n": n,
                                                                                       "code": warehouse.code})
        if entry.entry_type == EntryType.RECEIPT and ln.item.tracks_expiry and not ln.expiry:
            problems.append(_("line %(n)d: %(item)s needs an expiry date") % {"n": n, "item": ln.item.code})
        if kitting and ln.item_id not in kits:
            problems.append(_("line %(n)d: %(item)s is not a kit") % {"n": n, "item": ln.item.code})
        if ln.unit_value is not None and entry.entry_type != EntryType.RECEIPT:
            problems.append(_("line %(n)d: only a receipt sets the value of its lots") % {"n": n})
        if ln.lot_id and entry.entry_type != EntryType.RECEIPT and ln.lot.item_id != ln.item_id:
            problems.append(_("line %(n)d: lot %(lot)s is not of %(item)s") % {
                "n": n, "lot": ln.lot.code, "item": ln.item.code})
    if entry.entry_type == EntryType.TRANSFER and lines:
        if len({(ln.source_id, ln.target_id) for ln in lines}) > 1:
            problems.append(_("a transfer goes from one warehouse to one other"))
        elif lines[0].source_id == lines[0].target_id:
            problems.append(_("a transfer needs two different warehouses"))
    return problems


def stock_entry_post(*, entry: StockEntry, user) -> None:
    """The submit hook of a stock entry: post it (inside ``document_submit``'s transaction)."""
    lines = list(entry.lines.select_related("item", "source", "target").order_by("pk"))
    problems = stock_entry_problems(entry=entry, lines=lines)
    if problems:
        raise DocumentError("; ".join(problems))
    common = {"voucher_type": VOUCHER_ENTRY, "voucher_no": entry.number, "user": user,
              "posting_date": entry.posting_date}
    if entry.entry_type == EntryType.RECEIPT:
        lots = Lot.objects.bulk_create([
            _new_lot(number=entry.number, n=n, item_id=ln.item_id, grant_id=entry.grant_id, batch=ln.batch,
                     expiry=ln.expiry, received=entry.posting_date, unit_value=ln.unit_value, currency=ln.currency)
            for n, ln in enumerate(lines, start=1)
        ])
        for ln, lot in zip(lines, lots, strict=True):
            ln.lot = lot
        StockEntryLine.objects.bulk_update(lines, ["lot"])
        stock_post(moves=[Move(item_id=ln.item_id, qty=ln.qty, target_id=ln.target_id, lot_id=ln.lot.pk,
                               kind=MovementKind.RECEIPT, reason=ln.condition) for ln in lines], **common)
    elif entry.entry_type == EntryType.ISSUE:
        kind = MovementKind.LOSS if entry.purpose == IssuePurpose.WRITE_OFF else MovementKind.ISSUE
        reason = entry.reason if entry.purpose == IssuePurpose.WRITE_OFF else entry.purpose
        stock_post(moves=[Move(item_id=ln.item_id, qty=ln.qty, source_id=ln.source_id, lot_id=ln.lot_id,
                               kind=kind, reason=reason) for ln in lines], **common)
    elif entry.entry_type == EntryType.TRANSFER:
        _dispatch(entry=entry, lines=lines, common=common)
    elif entry.entry_type == EntryType.KITTING:
        _assemble(entry=entry, lines=lines, common=common)
    elif entry.entry_type == EntryType.DEKITTING:
        _disassemble(entry=entry, lines=lines, common=common)


def _dispatch(*, entry: StockEntry, lines: list[StockEntryLine], common: dict) -> None:
    source, target = lines[0].source, lines[0].target
    transit = transit_of(target)
    picked = stock_post(moves=[Move(item_id=ln.item_id, qty=ln.qty, source_id=source.pk, target_id=transit.pk,
                                    lot_id=ln.lot_id, kind=MovementKind.TRANSFER) for ln in lines], **common)
    waybill = Waybill.objects.create(number=naming_next(series=f"WB-{entry.created_at.year}-"), entry=entry,
                                     source=source, target=target, transit=transit)
    WaybillLine.objects.bulk_create([
        WaybillLine(waybill=waybill, item_id=ln.item_id, lot_id=lot_id, qty_dispatched=qty)
        for ln, picks in zip(lines, picked, strict=True) for lot_id, qty in picks
    ])


def _assemble(*, entry: StockEntry, lines: list[StockEntryLine], common: dict) -> None:
    kits = {k.item_id: k for k in Kit.objects.filter(item_id__in=[ln.item_id for ln in lines])
            .prefetch_related("components")}
    kit_lots = Lot.objects.bulk_create([
        _new_lot(number=entry.number, n=n, item_id=ln.item_id, grant_id=entry.grant_id, batch=entry.number,
                 expiry=None, received=entry.posting_date)
        for n, ln in enumerate(lines, start=1)
    ])
    moves: list[Move] = []
    spans = []
    for ln, kit_lot in zip(lines, kit_lots, strict=True):
        start = len(moves)
        for component in kits[ln.item_id].components.all():
            moves.append(Move(item_id=component.item_id, qty=component.qty * ln.qty, source_id=ln.source_id,
                              kind=MovementKind.KITTING, reason=_("into kit %(kit)s") % {"kit": kit_lot.code},
                              grant_id=entry.grant_id))
        spans.append((start, len(moves)))
        moves.append(Move(item_id=ln.item_id, qty=ln.qty, target_id=ln.target_id, lot_id=kit_lot.pk,
                          kind=MovementKind.KITTING))
    # Components out and kits in are one posting: every bin locked in one sorted pass.
    picked = stock_post(moves=moves, **common)
    component_lots = Lot.objects.in_bulk({lot_id for picks in picked for lot_id, _ in picks})
    for kit_lot, (start, end) in zip(kit_lots, spans, strict=True):
        used = [component_lots[lot_id] for picks in picked[start:end] for lot_id, _ in picks]
        grants = {lot.grant_id for lot in used}
        # A kit traces to one grant when its components do; mixed kits name none (assemble per grant to avoid).
        kit_lot.grant_id = entry.grant_id or (grants.pop() if len(grants) == 1 else None)
        expiries = [lot.expiry for lot in used if lot.expiry]
        kit_lot.expiry = min(expiries) if expiries else None
    Lot.objects.bulk_update(kit_lots, ["grant", "expiry"])


def _disassemble(*, entry: StockEntry, lines: list[StockEntryLine], common: dict) -> None:
    kits = {k.item_id: k for k in Kit.objects.filter(item_id__in=[ln.item_id for ln in lines])
            .prefetch_related("components")}
    component_pairs = {(c.item_id, ln.target_id) for ln in lines for c in kits[ln.item_id].components.all()}
    picked = stock_post(moves=[Move(item_id=ln.item_id, qty=ln.qty, source_id=ln.source_id, lot_id=ln.lot_id,
                                    kind=MovementKind.KITTING, grant_id=entry.grant_id) for ln in lines],
                        extra_pairs=component_pairs, **common)
    kit_lots = Lot.objects.in_bulk({lot_id for picks in picked for lot_id, _ in picks})
    new_lots, moves = [], []
    for ln, picks in zip(lines, picked, strict=True):
        for lot_id, kits_taken in picks:
            kit_lot = kit_lots[lot_id]
            for component in kits[ln.item_id].components.all():
                lot = _new_lot(number=entry.number, n=len(new_lots) + 1, item_id=component.item_id,
                               grant_id=kit_lot.grant_id, batch=kit_lot.code, expiry=kit_lot.expiry,
                               received=entry.posting_date)
                new_lots.append(lot)
                moves.append((component.item_id, component.qty * kits_taken, ln.target_id))
    new_lots = Lot.objects.bulk_create(new_lots)
    stock_post(moves=[Move(item_id=i, qty=q, target_id=t, lot_id=lot.pk, kind=MovementKind.KITTING)
                      for (i, q, t), lot in zip(moves, new_lots, strict=True)], **common)


def stock_entry_reverse(*, entry: StockEntry, user) -> None:
    """The cancel hook: negated ledger rows; a transfer only while its waybill is still in transit."""
    if entry.entry_type == EntryType.TRANSFER:
        waybill = Waybill.objects.select_for_update().filter(entry=entry).first()
        if waybill is not None:
            if waybill.status == Waybill.Status.RECEIVED:
                raise DocumentError(_("%(waybill)s was received at %(target)s; send the goods back with a new "
                                      "transfer") % {"waybill": waybill.number, "target": waybill.target.code})
            waybill.status = Waybill.Status.CANCELLED
            waybill.save(update_fields=["status"])
    stock_reverse_voucher(voucher_type=VOUCHER_ENTRY, voucher_no=entry.number, user=user)


# --- waybill receipt ------------------------------------------------------------------------------------


@dataclasses.dataclass
class ReceivedLine:
    line_id: int
    received: int
    short: int = 0
    damaged: int = 0
    remarks: str = ""


@retry_on_deadlock
def waybill_receive(*, waybill: Waybill, lines: list[ReceivedLine], user, remarks: str = "") -> Waybill:
    """Receive a waybill at its target: received goods into stock, short and damaged posted as losses."""
    with transaction.atomic():
        waybill = Waybill.objects.select_for_update().get(pk=waybill.pk)
        if waybill.status != Waybill.Status.IN_TRANSIT:
            raise DocumentError(_("%(number)s is %(status)s; only goods in transit can be received") % {
                "number": waybill.number, "status": waybill.get_status_display()})
        stored = {ln.pk: ln for ln in waybill.lines.select_related("item", "lot").order_by("pk")}
        given = {ln.line_id: ln for ln in lines}
        errors: dict[str, list[str]] = defaultdict(list)
        for n, (pk, line) in enumerate(stored.items()):
            got = given.get(pk)
            where = f"lines.{n}"
            if got is None:
                errors[where].append(_("%(item)s lot %(lot)s: say what arrived") % {
                    "item": line.item.code, "lot": line.lot.code})
                continue
            if min(got.received, got.short, got.damaged) < 0:
                errors[where].append(_("quantities cannot be negative"))
            elif got.received + got.short + got.damaged != line.qty_dispatched:
                errors[where].append(_("%(item)s lot %(lot)s: received %(r)d + short %(s)d + damaged %(d)d must "
                                       "equal dispatched %(q)d") % {
                    "item": line.item.code, "lot": line.lot.code, "r": got.received, "s": got.short,
                    "d": got.damaged, "q": line.qty_dispatched})
            if (got.short or got.damaged) and not got.remarks.strip():
                errors[f"{where}.remarks"].append(_("%(item)s: say what happened to the missing or damaged goods")
                                                  % {"item": line.item.code})
        for pk in set(given) - set(stored):
            errors["lines"].append(_("line %(id)s is not on %(number)s") % {"id": pk, "number": waybill.number})
        if errors:
            raise ValidationError(dict(errors))
        moves = []
        for pk, line in stored.items():
            got = given[pk]
            base = {"item_id": line.item_id, "lot_id": line.lot_id, "source_id": waybill.transit_id}
            if got.received:
                moves.append(Move(qty=got.received, target_id=waybill.target_id, kind=MovementKind.TRANSFER,
                                  **base))
            if got.short:
                moves.append(Move(qty=got.short, kind=MovementKind.LOSS,
                                  reason=_("short on arrival: %(why)s") % {"why": got.remarks}, **base))
            if got.damaged:
                moves.append(Move(qty=got.damaged, kind=MovementKind.LOSS,
                                  reason=_("damaged in transit: %(why)s") % {"why": got.remarks}, **base))
            line.qty_received, line.qty_short, line.qty_damaged = got.received, got.short, got.damaged
            line.remarks = got.remarks[:200]
        waybill.receipts += 1
        stock_post(moves=moves, voucher_type=VOUCHER_WAYBILL_RECEIPT, voucher_no=waybill.receipt_voucher, user=user)
        WaybillLine.objects.bulk_update(list(stored.values()), ["qty_received", "qty_short", "qty_damaged",
                                                                "remarks"])
        waybill.status = Waybill.Status.RECEIVED
        waybill.received_at = timezone.now()
        waybill.received_by = user
        waybill.receipt_remarks = remarks
        waybill.save(update_fields=["status", "received_at", "received_by", "receipt_remarks", "receipts"])
        return waybill


@retry_on_deadlock
def waybill_receipt_cancel(*, waybill: Waybill, user, reason: str) -> Waybill:
    """Undo a receipt entered wrongly: its rows are reversed and the goods are in transit again."""
    if not reason.strip():
        raise ValidationError({"reason": _("say why the receipt is cancelled")})
    with transaction.atomic():
        waybill = Waybill.objects.select_for_update().get(pk=waybill.pk)
        if waybill.status != Waybill.Status.RECEIVED:
            raise DocumentError(_("%(number)s has not been received") % {"number": waybill.number})
        stock_reverse_voucher(voucher_type=VOUCHER_WAYBILL_RECEIPT, voucher_no=waybill.receipt_voucher, user=user)
        waybill.lines.update(qty_received=None, qty_short=None, qty_damaged=None)
        waybill.status = Waybill.Status.IN_TRANSIT
        waybill.received_at, waybill.received_by = None, None
        waybill.receipt_remarks = _("receipt %(n)d cancelled: %(why)s") % {"n": waybill.receipts, "why": reason}
        waybill.save(update_fields=["status", "received_at", "received_by", "receipt_remarks"])
        return waybill


# --- physical counts -------------------------------------------------------------------------------------


def count_sheet_create(*, warehouse: Warehouse, user, posting_date: datetime.date | None = None) -> PhysicalCount:
    """A count sheet listing every lot the system holds at the warehouse, with the system quantity."""
    if warehouse.kind in (Warehouse.Kind.REGION, Warehouse.Kind.TRANSIT):
        raise ValidationError({"warehouse": _("%(code)s does not hold stock directly") % {"code": warehouse.code}})
    with transaction.atomic():
        count = PhysicalCount.objects.create(warehouse=warehouse, created_by=user,
                                             posting_date=posting_date or timezone.localdate())
        count_sheet_fill(count=count)
    return count


def count_sheet_fill(*, count: PhysicalCount) -> int:
    """Add a line for every lot on hand at the count's warehouse that the sheet does not list yet."""
    listed = set(count.lines.values_list("item_id", "lot_id"))
    lines = [
        PhysicalCountLine(count=count, item_id=b.item_id, lot_id=b.lot_id, system_qty=b.on_hand)
        for b in Bin.objects.filter(warehouse=count.warehouse_id, on_hand__gt=0).order_by("item__code", "lot__code")
        if (b.item_id, b.lot_id) not in listed
    ]
    PhysicalCountLine.objects.bulk_create(lines, batch_size=1000)
    return len(lines)


@dataclasses.dataclass
class CountRow:
    row: int
    item: str
    lot: str
    counted: object


def count_lines_enter(*, count: PhysicalCount, rows: list[CountRow], user) -> int:
    """Record counted quantities (typed or from the uploaded sheet); every bad row is reported at once."""
    if not count.is_draft or count.posting_started_at:
        raise DocumentError(_("%(number)s is no longer a draft") % {"number": count.number})
    lots = {lot.code: lot for lot in Lot.objects.filter(code__in={r.lot for r in rows}).select_related("item")}
    existing = {(ln.item_id, ln.lot_id): ln for ln in count.lines.all()}
    errors: list[str] = []
    seen: set[tuple[int, int]] = set()
    updates, creates = [], []
    for r in rows:
        lot = lots.get(r.lot)
        if lot is None:
            errors.append(_("row %(row)d: unknown lot '%(lot)s'") % {"row": r.row, "lot": r.lot})
        elif lot.item.code != r.item:
            errors.append(_("row %(row)d: lot %(lot)s is of item %(real)s, not '%(item)s'") % {
                "row": r.row, "lot": r.lot, "real": lot.item.code, "item": r.item})
        counted = r.counted
        if isinstance(counted, float) and counted.is_integer():
            counted = int(counted)
        if isinstance(counted, str) and counted.strip().isdigit():
            counted = int(counted.strip())
        if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
            errors.append(_("row %(row)d: counted must be a whole number of 0 or more, not '%(value)s'") % {
                "row": r.row, "value": r.counted})
            continue
        if lot is None or lot.item.code != r.item:
            continue
        key = (lot.item_id, lot.pk)
        if key in seen:
            errors.append(_("row %(row)d: lot %(lot)s is counted twice") % {"row": r.row, "lot": r.lot})
            continue
        seen.add(key)
        if key in existing:
            existing[key].counted_qty = counted
            updates.append(existing[key])
        else:
            creates.append(PhysicalCountLine(count=count, item_id=lot.item_id, lot_id=lot.pk, counted_qty=counted))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        PhysicalCountLine.objects.bulk_update(updates, ["counted_qty"], batch_size=1000)
        PhysicalCountLine.objects.bulk_create(creates, batch_size=1000)
    return len(updates) + len(creates)


def count_problems(count: PhysicalCount) -> list[str]:
    """Everything that stops a count from posting, all at once."""
    problems = [
        _("%(item)s lot %(lot)s has no counted quantity") % {"item": item, "lot": lot}
        for item, lot in count.lines.filter(counted_qty__isnull=True).values_list("item__code", "lot__code")
    ]
    if not count.lines.exists():
        problems.append(_("the count has no lines"))
    return problems


def _count_post_chunk(*, count: PhysicalCount, lines: list[PhysicalCountLine], user) -> None:
    stock_post(
        moves=[Move(item_id=ln.item_id, lot_id=ln.lot_id, target_id=count.warehouse_id, set_to=ln.counted_qty,
                    kind=MovementKind.ADJUSTMENT, reason=_("physical count")) for ln in lines],
        voucher_type=VOUCHER_COUNT, voucher_no=count.number, user=user, posting_date=count.posting_date,
    )
    PhysicalCountLine.objects.filter(pk__in=[ln.pk for ln in lines]).update(posted=True)


def count_post_remaining(*, count: PhysicalCount, user, chunk: int = COUNT_CHUNK) -> None:
    """The submit hook: post every line not yet posted, in bounded statements, inside the caller's transaction."""
    problems = count_problems(count)
    if problems:
        raise DocumentError("; ".join(problems))
    lines = list(count.lines.filter(posted=False).order_by("item_id", "lot_id"))
    for start in range(0, len(lines), chunk):
        _count_post_chunk(count=count, lines=lines[start:start + chunk], user=user)


def count_submit(*, count: PhysicalCount, user, chunk: int = COUNT_CHUNK,
                 progress: Callable[[int, int], None] | None = None) -> PhysicalCount:
    """Post a count in chunks of ``chunk`` lines, one transaction each, then mark it submitted.

    Validation comes first and covers every line, so a count with errors posts nothing. Each chunk
    marks its lines posted, so running this again after an interruption carries on where it stopped.
    """
    count.refresh_from_db()
    if not count.is_draft:
        raise DocumentError(_("%(number)s is %(status)s") % {"number": count.number, "status": count.status})
    problems = count_problems(count)
    if problems:
        raise DocumentError("; ".join(problems))
    PhysicalCount.objects.filter(pk=count.pk, posting_started_at__isnull=True).update(
        posting_started_at=timezone.now())
    total = count.lines.count()
    done = count.lines.filter(posted=True).count()
    ids = list(count.lines.filter(posted=False).order_by("item_id", "lot_id").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk):
        _count_chunk_transaction(count=count, ids=ids[start:start + chunk], user=user)
        done += len(ids[start:start + chunk])
        if progress:
            progress(done, total)
    return document_submit(document=count, user=user)


@retry_on_deadlock
def _count_chunk_transaction(*, count: PhysicalCount, ids: list[int], user) -> None:
    with transaction.atomic():
        lines = list(PhysicalCountLine.objects.filter(pk__in=ids, posted=False).order_by("item_id", "lot_id"))
        _count_post_chunk(count=count, lines=lines, user=user)


def count_submit_job(*, job, count_id: int, user_id: int) -> dict:
    """RQ job: post a (large) count with progress."""
    from django.contrib.auth import get_user_model

    from relief.core.jobs import job_progress

    count = PhysicalCount.objects.get(pk=count_id)
    user = get_user_model().objects.get(pk=user_id)
    count = count_submit(count=count, user=user,
                         progress=lambda done, total: job_progress(job, done=done, total=total))
    return {"number": count.number, "status": count.status}


def count_submit_start(*, count: PhysicalCount, user):
    from relief.core.jobs import job_start

    problems = count_problems(count)
    if problems:
        raise DocumentError("; ".join(problems))
    return job_start(kind="count-post", function="relief.inventory.services.count_submit_job",
                     arguments={"count_id": count.pk, "user_id": user.pk}, user=user, queue="long")


# --- the lifecycle of stock entries and counts: the API, pages and desk all submit and cancel here ------------


def stock_entry_submit(*, entry: StockEntry, user: AbstractBaseUser) -> StockEntry:
    """Post a draft stock entry to the ledger (``stock_entry_post``) and mark it submitted, all or nothing."""
    return document_submit(document=entry, user=user)


def stock_entry_cancel(*, entry: StockEntry, user: AbstractBaseUser, reason: str) -> StockEntry:
    """Reverse a submitted stock entry with negated ledger rows (``stock_entry_reverse``)."""
    return document_cancel(document=entry, user=user, reason=reason)


def count_cancel(*, count: PhysicalCount, user: AbstractBaseUser, reason: str) -> PhysicalCount:
    """Reverse the adjustments a submitted count posted."""
    return document_cancel(document=count, user=user, reason=reason)


def _count_reverse(count: PhysicalCount, user: AbstractBaseUser) -> None:
    stock_reverse_voucher(voucher_type=VOUCHER_COUNT, voucher_no=count.number, user=user)


document_lifecycle(StockEntry, post=lambda entry, user: stock_entry_post(entry=entry, user=user),
                   reverse=lambda entry, user: stock_entry_reverse(entry=entry, user=user))
document_lifecycle(PhysicalCount, post=lambda count, user: count_post_remaining(count=count, user=user),
                   reverse=_count_reverse)
