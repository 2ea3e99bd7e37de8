"""Shared set-up of the registry benchmarks: a fresh MariaDB database with the demo camps."""

from __future__ import annotations

import os
import sys
import tempfile
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
