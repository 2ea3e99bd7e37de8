"""System status for monitoring (/health/) and for Administrators in the desk."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

from relief.core.backup import last_backup

BACKUP_STALE_HOURS = 26


def _database() -> dict:
    try:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:  # noqa: BLE001 - a status page reports any failure
        return {"ok": False, "error": type(exc).__name__}


def _redis() -> dict:
    if not settings.RELIEF_REDIS_URL:
        return {"ok": True, "configured": False}
    import django_rq
    import redis

    from relief.core.jobs import queue_name

    try:
        client = redis.Redis.from_url(settings.RELIEF_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        depth = {q: django_rq.get_queue(queue_name(q)).count for q in settings.RELIEF_QUEUES}
        return {"ok": True, "configured": True, "queues": depth}
    except redis.exceptions.RedisError as exc:
        return {"ok": False, "configured": True, "error": type(exc).__name__}


def _backup() -> dict:
    site_config = settings.SITE_CONFIG
    last = last_backup(site_config)
    if last is None:
        # A site younger than a backup period has not missed one yet.
        if site_config.site_dir is None:
            return {"ok": True, "last": None}
        site_age_hours = (time.time() - (site_config.site_dir / "site_config.json").stat().st_mtime) / 3600
        return {"ok": site_age_hours < BACKUP_STALE_HOURS, "last": None}
    created = datetime.strptime(last["created"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    age_hours = (datetime.now(UTC) - created).total_seconds() / 3600
    return {"ok": age_hours < BACKUP_STALE_HOURS, "last": created.isoformat(), "age_hours": round(age_hours, 1)}


def system_status() -> dict:
    checks = {"database": _database(), "redis": _redis(), "backup": _backup()}
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "failing", "checks": checks}
