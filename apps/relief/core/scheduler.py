"""Periodic jobs. Each package lists its own in ``relief.<package>.schedule.PERIODIC``
as ``(name, every_seconds, function_path, queue)``.

Several scheduler processes may run (one per node): a shared cache key per time slot
makes exactly one of them enqueue each run. Each tick also hands waiting and abandoned jobs
to workers. A tick that cannot reach the database or Redis logs it and the next tick tries
again: the scheduler outlives an outage instead of taking the other processes down with it.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, transaction
from redis.exceptions import RedisError

from relief.core import schedule
from relief.core.jobs import job_start, jobs_recover_abandoned, jobs_requeue_waiting
from relief.core.plugins import domain_modules

logger = logging.getLogger(__name__)


def periodic_tasks() -> list[tuple[str, int, str, str]]:
    tasks: list[tuple[str, int, str, str]] = []
    for module in [schedule, *domain_modules("schedule")]:
        tasks.extend(getattr(module, "PERIODIC", []))
    return tasks


def scheduler_tick(now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    # A connection broken by a database restart is dropped here, and the tick reconnects
    # (never inside a caller's transaction, as in a test).
    if not transaction.get_connection().in_atomic_block:
        close_old_connections()
    enqueued = []
    try:
        for name, every, function, queue in periodic_tasks():
            key = f"scheduler:{name}:{int(now // every)}"
            if cache.add(key, 1, timeout=every):
                try:
                    job_start(kind=name, function=function, arguments={}, queue=queue)
                except DatabaseError:
                    # Not recorded: free the slot so a later tick in it (or another node) starts the run.
                    cache.delete(key)
                    raise
                enqueued.append(name)
        if jobs_requeue_waiting():
            enqueued.append("requeued-waiting-jobs")
        if jobs_recover_abandoned():
            enqueued.append("recovered-abandoned-jobs")
    except (DatabaseError, RedisError) as exc:
        logger.warning("scheduler tick skipped: %s unavailable (%s)",
                       "database" if isinstance(exc, DatabaseError) else "Redis", type(exc).__name__)
    return enqueued
