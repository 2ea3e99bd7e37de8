"""One production stack for the ops tests: a MariaDB site made by `relief new-site`, the demo and the ops
world, then 2 gunicorn workers, 2 RQ workers and the scheduler, all real processes. Dropped afterwards."""

from __future__ import annotations

import uuid

import pymysql
import pytest
import redis

from tests.ops.stack import Stack, create_site, remove_site

REDIS_URL = "redis://127.0.0.1:6379/0"
# Households for the demo (about half at Nyarugusu, where the ops event is): enough cards to print for
# seconds, so a worker can be killed mid-job, and to scan in every test without two sharing a household.
HOUSEHOLDS = 150


def forget_redis_keys(stack: Stack, url: str = REDIS_URL) -> None:
    """The site's queues, registries, cache and leases, and its RQ job hashes (named by job id)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"*{stack.site}*", count=1000))
        ids = [row[0] for row in stack.sql("SELECT REPLACE(id, '-', '') FROM core_job")]
        for job_id in ids:
            dashed = str(uuid.UUID(job_id))
            keys += [f"rq:job:relief-{dashed}", f"rq:results:relief-{dashed}", f"rq:executions:relief-{dashed}"]
        for n in range(0, len(keys), 500):
            client.delete(*keys[n:n + 500])
    except (redis.RedisError, pymysql.MySQLError, OSError):
        pass


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    tag = uuid.uuid4().hex[:8]
    sites_dir = tmp_path_factory.mktemp("ops-sites")
    made = Stack(site=f"ops-{tag}.localhost", sites_dir=sites_dir, database=f"test_relief_ops_{tag}")
    try:
        create_site(made, redis_url=REDIS_URL, households=HOUSEHOLDS)
        # A first backup: /health/ counts a site never backed up as failing, and the private-server
        # tests restore this archive.
        made.relief("backup")
        made.archive = next((sites_dir / made.site / "backups").glob("*.tar.gz"))
        made.start_web(workers=2)
        for n in (1, 2):
            made.start_worker(f"worker-{n}", "short", "default", "long")
        made.start_scheduler(interval=2)
        yield made
    finally:
        forget_redis_keys(made)
        remove_site(made)
