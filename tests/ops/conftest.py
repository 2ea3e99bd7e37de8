"""One production stack for the ops tests: a MariaDB site made by `relief new-site`, the demo and the ops
world, then 2 gunicorn workers, 2 RQ workers and the scheduler, all real processes. Dropped once the
ops tests are done, so nothing of it runs on through the rest of the suite."""

from __future__ import annotations

import uuid

import pytest

from tests.ops.stack import Stack, create_site, remove_site

REDIS_URL = "redis://127.0.0.1:6379/0"
# Households for the demo (about half at Nyarugusu, where the ops event is): enough cards to print for
# seconds, so a worker can be killed mid-job, and to scan in every test without two sharing a household.
HOUSEHOLDS = 150


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    tag = uuid.uuid4().hex[:8]
    sites_dir = tmp_path_factory.mktemp("ops-sites")
    made = Stack(site=f"ops-{tag}.localhost", sites_dir=sites_dir, database=f"test_relief_ops_{tag}")
    try:
        create_site(made, redis_url=REDIS_URL, households=HOUSEHOLDS)
        # A first backup: /health/ counts a site never backed up as failing, and the private-server
        # tests restore this archive.
        backup = made.start("backup", "backup")
        for n in (1, 2):
            made.start_worker(f"worker-{n}", "short", "default", "long")
        made.start_scheduler(interval=2)
        made.start_web(workers=2)
        assert backup.wait(timeout=300) == 0, made.tail("backup")
        made.processes.pop("backup")
        made.archive = next((sites_dir / made.site / "backups").glob("*.tar.gz"))
        yield made
    finally:
        remove_site(made, REDIS_URL)
