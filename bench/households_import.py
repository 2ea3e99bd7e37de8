"""Import of 20,000 households / ~90,000 members from a Kobo-shaped XLSX (target: under 60 s).

Prints rows per second for the whole import (read, validate, write with history) and its ratio to
the raw database work: inserting the same household and member rows with plain multi-row INSERTs.

    .venv/bin/python bench/households_import.py [HOUSEHOLDS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def setup(name: str) -> None:
    scratch = tempfile.mkdtemp(prefix=f"{name}-")
    url = os.environ.get("BENCH_DB_URL", f"mysql://root@127.0.0.1:3306/{name}")
    os.environ.update({
        "RELIEF_DB_URL": url, "RELIEF_SECRET_KEY": "bench", "RELIEF_KEYS_DIR": f"{scratch}/keys",
        "RELIEF_FILES_DIR": f"{scratch}/files",
    })
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relief.settings")
    os.environ.pop("RELIEF_SITE", None)
    os.environ.pop("RELIEF_REDIS_URL", None)
    os.makedirs(f"{scratch}/files")
    sys.path.insert(0, str(REPO / "apps"))
    if url.startswith("mysql"):
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root")
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from relief.core.demo import demo_blocks, demo_sites

    demo_blocks(demo_sites())


def teardown(name: str) -> None:
    if os.environ["RELIEF_DB_URL"].startswith("mysql") and not os.environ.get("BENCH_KEEP"):
        from django.db import connection

        connection.close()
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root")
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


NAME = "bench_relief_households_import"


def main(count: int) -> None:
    setup(NAME)
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
    teardown(NAME)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
