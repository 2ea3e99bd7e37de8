"""Periodic jobs. Each package lists its own in ``relief.<package>.schedule.PERIODIC``
as ``(name, every_seconds, function_path, queue)``.

Several scheduler processes may run (one per node): a shared cache key per time slot
makes exactly one of them enqueue each run.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from relief.core import schedule
from relief.core.jobs import job_start, jobs_requeue_waiting
from relief.core.plugins import domain_modules


def periodic_tasks() -> list[tuple[str, int, str, str]]:
    tasks: list[tuple[str, int, str, str]] = []
    for module in [schedule, *domain_modules("schedule")]:
        tasks.extend(getattr(module, "PERIODIC", []))
    return tasks


def scheduler_tick(now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    enqueued = []
    for name, every, function, queue in periodic_tasks():
        slot = int(now // every)
        if cache.add(f"scheduler:{name}:{slot}", 1, timeout=every):
            job_start(kind=name, function=function, arguments={}, queue=queue)
            enqueued.append(name)
    if jobs_requeue_waiting():
        enqueued.append("requeued-waiting-jobs")
    return enqueued
