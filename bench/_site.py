"""What every benchmark starts and ends with: a scratch directory, the RELIEF_* environment, a fresh migrated
database, and dropping that database at the end.

The benchmarks run as ``python bench/<name>.py``, so this folder is first on sys.path and they
``from _site import ...``. The database is MariaDB on 127.0.0.1:3306 (root) unless BENCH_DB_URL names
another; BENCH_KEEP=1 keeps it afterwards for a look.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _mariadb(*statements: str) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root")
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def bench_database(name: str, *, redis_url: str | None = None, queue_prefix: str = "") -> Path:
    """Make the database ``name`` afresh, set Django up on it and migrate; return the scratch dir (keys, files).

    Without ``redis_url`` there is no RELIEF_REDIS_URL, so jobs run in process; ``queue_prefix`` keeps a
    benchmark's RQ queues apart from a running site's.
    """
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    url = os.environ.get("BENCH_DB_URL", f"mysql://root@127.0.0.1:3306/{name}")
    os.environ.update({
        "RELIEF_DB_URL": url, "RELIEF_SECRET_KEY": "bench", "RELIEF_KEYS_DIR": str(scratch / "keys"),
        "RELIEF_FILES_DIR": str(scratch / "files"),
    })
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relief.settings")
    os.environ.pop("RELIEF_SITE", None)
    if redis_url:
        os.environ["RELIEF_REDIS_URL"] = redis_url
    else:
        os.environ.pop("RELIEF_REDIS_URL", None)
    if queue_prefix:
        os.environ["RELIEF_QUEUE_PREFIX"] = queue_prefix
    (scratch / "files").mkdir()
    sys.path.insert(0, str(REPO / "apps"))
    if url.startswith("mysql"):
        _mariadb(f"DROP DATABASE IF EXISTS `{name}`",
                 f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return scratch


def drop_database(name: str) -> None:
    """Close Django's connection and drop the database ``name`` (kept with BENCH_KEEP=1, or when not MariaDB)."""
    from django.db import connection

    connection.close()
    if os.environ["RELIEF_DB_URL"].startswith("mysql") and not os.environ.get("BENCH_KEEP"):
        _mariadb(f"DROP DATABASE IF EXISTS `{name}`")


def demo_camps() -> list:
    """The demo's camps with their blocks, as `relief demo` makes them."""
    from relief.core.demo import demo_blocks, demo_sites

    sites = demo_sites()
    demo_blocks(sites)
    return sites
