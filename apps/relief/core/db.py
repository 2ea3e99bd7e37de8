"""Database helpers shared by every package: row locks in a fixed order, deadlock retries."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection, models

P = ParamSpec("P")
R = TypeVar("R")

# MariaDB: 1213 deadlock found, 1205 lock wait timeout. SQLite: "database is locked".
RETRYABLE_MYSQL_CODES = {1213, 1205}


def is_retryable(exc: OperationalError) -> bool:
    code = exc.args[0] if exc.args else None
    if code in RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(exc)


def retry_on_deadlock(func: Callable[P, R], attempts: int = 5) -> Callable[P, R]:
    """Re-run a whole transaction that the database chose as a deadlock victim.

    Only the outermost transaction can be retried: inside another atomic block the
    error is passed on so the caller's transaction is retried as a whole.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(attempts):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if connection.in_atomic_block or not is_retryable(exc) or attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper


def lock_rows(queryset: models.QuerySet, order_by: Iterable[str] = ("pk",), *, rank=None) -> list:
    """Lock rows in a fixed order and evaluate at once, at their ``rank`` of the house lock order
    (``relief.core.locks``; the default is the action's subject, locked first)."""
    from relief.core.locks import Rank, lock

    return lock(Rank.SUBJECT if rank is None else rank, queryset, order_by)
