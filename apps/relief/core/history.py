"""Bulk changes that keep the audit trail: many rows set to the same values, one history row each.

A lifecycle action (a convoy of thousands of households) sets every row it touches to the same values. The
ORM's ``bulk_update`` builds a CASE per row and field and ``bulk_create`` of history rows compiles every value
into SQL: seconds of Python for a few thousand rows. One ``UPDATE … WHERE id IN`` and plain multi-row INSERTs
of the history rows (values the driver escapes itself) do the same work.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone

BATCH = 2000


def _history_rows(objs: Sequence[models.Model], *, user, now) -> None:
    model = type(objs[0])
    history = model.history.model
    tracked = {f.attname for f in model._meta.concrete_fields}
    columns = [f for f in history._meta.concrete_fields if not f.primary_key]
    extra = {"history_date": now, "history_change_reason": None, "history_type": "~",
             "history_user_id": user.pk if user is not None else None}
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    rows = [tuple(f.get_db_prep_save(getattr(obj, f.attname) if f.attname in tracked else extra.get(f.attname),
                                     connection) for f in columns) for obj in objs]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start:start + BATCH])


def rows_set(objs: Sequence[models.Model], *, values: dict, user) -> None:
    """Set ``values`` on ``objs`` (in memory and in the database) and record their history as changed by ``user``."""
    if not objs:
        return
    model = type(objs[0])
    for obj in objs:
        for name, value in values.items():
            setattr(obj, name, value)
    pks = [obj.pk for obj in objs]
    for start in range(0, len(pks), BATCH):
        model._default_manager.filter(pk__in=pks[start:start + BATCH]).update(**values)
    if getattr(model, "history", None) is not None:
        _history_rows(objs, user=user, now=timezone.now())
