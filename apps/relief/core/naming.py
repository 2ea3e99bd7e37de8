"""Gap-free document numbers: ``GRN-2026-00042``.

The counter row is bumped inside the caller's transaction, so a number is taken only
if the document that takes it commits: no gap, no duplicate.
"""

from __future__ import annotations

from django.db import connection, transaction

from relief.core.models import NamingSeries

# One upsert takes the row's exclusive lock directly. A SELECT FOR UPDATE followed by an
# INSERT on first use would let two racing inserts both hold shared locks on the new
# row and deadlock on MariaDB when they upgrade them.
_UPSERT = {
    "mysql": "INSERT INTO {table} (name, current) VALUES (%s, %s) ON DUPLICATE KEY UPDATE current = current + %s",
    "sqlite": (
        "INSERT INTO {table} (name, current) VALUES (%s, %s) ON CONFLICT(name) DO UPDATE SET current = current + %s"
    ),
}


def naming_next_many(*, series: str, count: int, digits: int = 5) -> list[str]:
    """``count`` consecutive numbers in one statement (bulk imports take them in one round trip)."""
    if count < 1:
        return []
    table = connection.ops.quote_name(NamingSeries._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT[connection.vendor].format(table=table), [series, count, count])
        cursor.execute(f"SELECT current FROM {table} WHERE name = %s", [series])
        (last,) = cursor.fetchone()
    return [f"{series}{n:0{digits}d}" for n in range(last - count + 1, last + 1)]


def naming_next(*, series: str, digits: int = 5) -> str:
    return naming_next_many(series=series, count=1, digits=digits)[0]
