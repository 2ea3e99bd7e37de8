"""Import of 20,000 households / ~90,000 members from a Kobo-shaped XLSX (target: under 60 s).

Prints rows per second for the whole import (read, validate, write with history) and its ratio to
the raw database work: inserting the same household and member rows with bulk_create alone.

    .venv/bin/python bench/households_import.py [HOUSEHOLDS]
"""

from __future__ import annotations

import sys
import time

from _households_setup import setup, teardown

NAME = "bench_relief_households_import"


def main(count: int) -> None:
    setup(NAME)
    from django.db import transaction

    from relief.households import demo
    from relief.households.importer import Mapping, files_dir, run_import
    from relief.households.models import AlternateCollector, Household, Member

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

    # Raw database work: the same rows inserted with bulk_create, no reading, checks, numbers or history.
    existing = list(Household.objects.all())
    member_rows = list(Member.objects.all())
    with transaction.atomic():
        AlternateCollector.objects.all().delete()
        Member.objects.all().delete()
        Household.history.all().delete()
        Member.history.all().delete()
        Household.objects.all().delete()
        raw_start = time.perf_counter()
        Household.objects.bulk_create(existing, batch_size=1000)
        Member.objects.bulk_create(member_rows, batch_size=1000)
        raw = time.perf_counter() - raw_start
        transaction.set_rollback(True)
    print(f"raw bulk insert of the same rows: {raw:.1f} s; import / raw = {elapsed / raw:.1f}x")
    teardown(NAME)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
