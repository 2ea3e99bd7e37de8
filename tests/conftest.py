import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from relief.core import signing, triggers

REPO = Path(__file__).resolve().parents[1]


def _flush_through_triggers() -> None:
    """The flush between transactional tests deletes every row, history included: let it past the append-only
    triggers (relief.core.triggers) with their one switch."""
    from django.db import connections

    ops = type(connections["default"].ops)
    original = ops.sql_flush

    def sql_flush(self, style, tables, *args, **kwargs):
        sql = original(self, style, tables, *args, **kwargs)
        return triggers.flush_sql(self.connection.vendor, sql) if sql else sql

    ops.sql_flush = sql_flush


_flush_through_triggers()


@pytest.fixture(scope="session", autouse=True)
def _signing_key():
    if not signing.keys_dir().exists() or not (signing.keys_dir() / "active").exists():
        signing.key_create()


@pytest.fixture(scope="session", autouse=True)
def _redis_cleanup():
    """Remove this run's Redis keys (cache and queues) when the session ends."""
    yield
    if settings.RELIEF_REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.RELIEF_REDIS_URL)
        for pattern in (f"*{settings.RELIEF_QUEUE_PREFIX}*",):
            for key in client.scan_iter(match=pattern, count=1000):
                client.delete(key)
    shutil.rmtree(settings.RELIEF_TEST_SCRATCH, ignore_errors=True)


@pytest.fixture
def users(db):
    """One active user per role, plus one with no role (an outsider)."""
    from relief.core.demo import demo_blocks, demo_sites, demo_users
    from relief.core.roles import sync_role_permissions

    # A transactional test flushes the groups the data migration made; bring them back.
    sync_role_permissions()
    demo_blocks(demo_sites())
    made = demo_users(password="test-pass-123")
    from django.contrib.auth.models import User

    made["outsider"] = User.objects.create_user(username="outsider", password="test-pass-123", is_staff=True)
    return made


def run_relief(*args: str, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run the `relief` command as a user would, in a fresh process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("RELIEF_", "DJANGO_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "relief.cli", *args], capture_output=True, text=True, env=full_env,
        timeout=timeout, cwd=REPO,
    )
