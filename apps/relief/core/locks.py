"""The one lock order of the whole system.

Every service that locks rows takes them through :func:`lock`, rank by rank, in this order:

    subject → site → household → plot → card → entitlement → bins → document

*Subject* is the row an action is about and is locked first by its lifecycle: the document being
submitted, cancelled or saved as a draft, the cycle being re-generated, the event a hand-over is
recorded at. Then site, household, plot, card, entitlement; then inventory bins in sorted
(item, warehouse, lot) keys; last, documents written on the way (a waybill's status, a draft line's
parent). Within one rank rows are locked in sorted key order in one statement. Two transactions that
follow this order can wait for each other but never deadlock.

With ``settings.RELIEF_LOCK_ORDER_CHECK`` (the test suite sets it) a lock taken against the order
raises :class:`LockOrderError` naming both ranks, so every test that runs a service checks its order.
Re-locking rows the transaction already holds is always allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection, models


class Rank(enum.IntEnum):
    SUBJECT = 0
    SITE = 1
    HOUSEHOLD = 2
    PLOT = 3
    CARD = 4
    ENTITLEMENT = 5
    BIN = 6
    DOCUMENT = 7


class LockOrderError(AssertionError):
    """A service locked rows against the house lock order (only raised when the check is on)."""


class _Held:
    """What the current transaction has locked: its highest rank and the rows, per model."""

    def __init__(self) -> None:
        self.rank = -1
        self.rows: set[tuple[str, object]] = set()

    def __call__(self) -> None:
        """Registered with on_commit: being still listed there means the transaction is still the same."""


def _held() -> _Held | None:
    """The record of the current transaction, or None outside one.

    A transaction opened by the test suite around a test (``_from_testcase``) is not a service's: the record
    belongs to the first atomic block inside it, found again by its savepoint's unique name. A real outermost
    transaction is found by the record it registered with on_commit: commit or rollback clears that list.
    """
    blocks = connection.atomic_blocks
    depth = next((n for n, block in enumerate(blocks) if not getattr(block, "_from_testcase", False)), None)
    if depth is None:
        return None
    if depth == 0:
        for _sids, func, _robust in connection.run_on_commit:
            if isinstance(func, _Held):
                return func
        held = _Held()
        connection.on_commit(held)
        return held
    token = connection.savepoint_ids[depth - 1] or id(blocks[depth])
    current = getattr(connection, "relief_locks_held", None)
    if current is None or current[0] != token:
        current = (token, _Held())
        connection.relief_locks_held = current
    return current[1]


def _check(rank: Rank, label: str, pks: Iterable) -> None:
    if not getattr(settings, "RELIEF_LOCK_ORDER_CHECK", False):
        return
    held = _held()
    if held is None:
        return
    keys = {(label, pk) for pk in pks}
    if rank < held.rank and not keys <= held.rows:
        raise LockOrderError(f"{label} locked at rank {rank.name} after rank {Rank(held.rank).name}: "
                             f"see relief.core.locks for the order")
    held.rank = max(held.rank, rank)
    held.rows |= keys


def subject_begins() -> None:
    """A lifecycle action (submit, cancel) starts inside a transaction that may already hold rows: a seeding
    script posting one document after another, a close-out posting its returns. Its own order starts again
    from its subject; the rows already held stay held (and may be locked again)."""
    held = _held() if getattr(settings, "RELIEF_LOCK_ORDER_CHECK", False) else None
    if held is not None:
        held.rank = -1


def holds_locks() -> bool:
    """Whether this transaction has locked anything through :func:`lock` yet (check on only)."""
    held = _held() if getattr(settings, "RELIEF_LOCK_ORDER_CHECK", False) else None
    return held is not None and held.rank >= 0


def lock(rank: Rank, queryset: models.QuerySet, order_by: Iterable[str] = ("pk",)) -> list:
    """Lock the rows of ``queryset`` at ``rank`` in ``order_by`` order and evaluate at once."""
    rows = list(queryset.order_by(*order_by).select_for_update())
    _check(rank, queryset.model._meta.label, (row.pk for row in rows))
    return rows


def lock_raw(rank: Rank, model: type[models.Model], sql: str, params: Sequence) -> list:
    """Lock with a hand-written ``SELECT … FOR UPDATE`` of ``model`` (when the index the scan uses decides the
    order InnoDB takes the row locks in), checked like :func:`lock`."""
    rows = list(model.objects.raw(sql, params))
    _check(rank, model._meta.label, (row.pk for row in rows))
    return rows
