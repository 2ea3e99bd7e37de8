"""Import of 20,000 households / ~90,000 members from a Kobo-shaped XLSX (target: under 60 s).

Prints rows per second for the whole import (read, validate, write with history) and its ratio to
the raw database work: inserting the same household and member rows with plain multi-row INSERTs.

    .venv/bin/python bench/households_import.py [HOUSEHOLDS]
"""

from __future__ import annotations

import sys
import time

from _site import bench_database, demo_camps, drop_database

NAME = "bench_relief_households_import"


def main(count: int) -> None:
    bench_database(NAME)
    demo_camps()
    from django.db import transaction

    from relief.households import demo
    from relief.households.importer import Mapping, files_dir, run_import
    from relief.households.models import Household, Member

    households = demo.generate(count, seed=2026)
    started = time.perf_counter()
    path = demo.write_kobo_export(files_dir() / "bench.xlsx", households)
    members = sum(1 + len(h["members"]) for h in households)
    print(f"file: {count} households, {members} members, written in {time.perf_counter() - started:.1f} s")

    stages = {}

    def progress(stage: str, done: int, total: int) -> None:
        stages.setdefault(stage, time.perf_counter())

    started = time.perf_counter()
    result = run_import(path=path, mapping=Mapping.load("kobo_example"), user=None, site_ids=None, mode="all",
                        progress=progress)
    elapsed = time.perf_counter() - started
    assert result.committed, result.problems[:5]
    marks = sorted(stages.items(), key=lambda kv: kv[1]) + [("end", started + elapsed)]
    for (stage, at), (_next, until) in zip(marks, marks[1:], strict=False):
        print(f"  {stage:<22} {until - at:6.1f} s")
    rows = count + members
    print(f"import: {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s ({count / elapsed:,.0f} households/s)")

    again = time.perf_counter()
    second = run_import(path=path, mapping=Mapping.load("kobo_example"), user=None, site_ids=None, mode="all")
    print(f"re-import of the same file (all unchanged: {second.counts.households_unchanged}): "
          f"{time.perf_counter() - again:.1f} s")

    # Raw database work: the same household and member rows inserted with plain multi-row INSERTs into
    # empty copies of the tables: no reading, checking, numbering, history or id read-back.
    from django.db import connection

    from relief.households.importer import BATCH, _db_values, _insert_sql

    prepared = []
    for model in (Household, Member):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and not f.generated]
        rows = [_db_values(fields, o) for o in model.objects.all().iterator(chunk_size=5000)]
        prepared.append((model._meta.db_table, _insert_sql(model, fields), rows))
    with transaction.atomic(), connection.cursor() as cursor:
        raw_start = time.perf_counter()
        for table, sql, rows in prepared:
            cursor.execute(f"CREATE TEMPORARY TABLE raw_{table} LIKE {table}")
            sql = sql.replace(f"`{table}`", f"raw_{table}", 1)
            for start in range(0, len(rows), BATCH):
                cursor.executemany(sql, rows[start:start + BATCH])
        raw = time.perf_counter() - raw_start
        transaction.set_rollback(True)
    print(f"raw insert of the same rows: {raw:.1f} s; import / raw = {elapsed / raw:.1f}x")
    drop_database(NAME)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
