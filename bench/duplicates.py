"""Duplicate scan over 60,000 households (target: under 120 s).

Prints households, pairs compared and time, and the ratio of the scan to the raw database work
(reading the heads and members it compares). Also prints how many of the planted duplicates
(one household in fifty registered twice) were found, and how many other pairs were proposed.

    .venv/bin/python bench/duplicates.py [HOUSEHOLDS]
"""

from __future__ import annotations

import sys
import time

from _site import bench_database, demo_camps, drop_database

NAME = "bench_relief_households_duplicates"


def main(count: int) -> None:
    bench_database(NAME)
    demo_camps()
    from relief.households import demo, duplicates
    from relief.households.importer import Mapping, files_dir, run_import
    from relief.households.models import DuplicateCandidate, Household, Member

    households = demo.generate(count, seed=60)
    path = demo.write_kobo_export(files_dir() / "bench.xlsx", households)
    started = time.perf_counter()
    result = run_import(path=path, mapping=Mapping.load("kobo_example"), user=None, site_ids=None, mode="all")
    assert result.committed, result.problems[:5]
    print(f"registry: {Household.objects.count()} households, {Member.objects.count()} members "
          f"(imported in {time.perf_counter() - started:.1f} s)")

    raw_start = time.perf_counter()
    heads = list(Member.objects.filter(is_head=True).values_list(
        "household_id", "household__site_id", "given_name", "family_name", "date_of_birth", "age_estimated",
        "household__phone", "household__unhcr_group_id"))
    others = list(Member.objects.filter(is_head=False).values_list("household_id", "given_name"))
    raw = time.perf_counter() - raw_start
    print(f"raw read of {len(heads)} heads and {len(others)} other members: {raw:.1f} s")

    started = time.perf_counter()
    outcome = duplicates.scan()
    elapsed = time.perf_counter() - started
    all_pairs = count * (count - 1) // 2
    print(f"scan: {outcome['households']} households, {outcome['pairs_compared']:,} pairs compared "
          f"(of {all_pairs:,} possible), {outcome['candidates_new']} candidates, {elapsed:.1f} s "
          f"(loading {outcome['seconds_loading']} s); scan / raw read = {elapsed / raw:.1f}x")

    by_uuid = dict(Household.objects.values_list("kobo_uuid", "pk"))
    planted = {tuple(sorted([by_uuid[h["copy_of"]], by_uuid[h["uuid"]]])) for h in households if "copy_of" in h}
    found = set(DuplicateCandidate.objects.values_list("household_a_id", "household_b_id"))
    print(f"planted duplicates found: {len(planted & found)} of {len(planted)}; "
          f"other pairs proposed: {len(found - planted)}")
    drop_database(NAME)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60_000)
