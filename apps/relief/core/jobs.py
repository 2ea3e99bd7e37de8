"""Background jobs with progress the user can watch.

``job_start`` records a Job row and enqueues it on RQ after the transaction commits;
with no Redis configured (the embedded default) the job runs in process once the
transaction commits. A job function takes ``job`` plus JSON arguments (ids, not
objects), reports progress with ``job_progress`` and is safe to run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from relief.core.models import Job

logger = logging.getLogger(__name__)


def queue_name(queue: str) -> str:
    if queue not in settings.RELIEF_QUEUES:
        raise ValueError(f"unknown queue {queue!r}; expected one of {settings.RELIEF_QUEUES}")
    return f"{settings.RELIEF_QUEUE_PREFIX}{queue}"


def job_start(*, kind: str, function: str, arguments: dict, user=None, queue: str = "default") -> Job:
    job = Job.objects.create(
        kind=kind, function=function, arguments=arguments, queue=queue, created_by=user
    )
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: Job) -> None:
    if not settings.RELIEF_REDIS_URL:
        job_run(str(job.pk))
        return
    import django_rq
    from redis.exceptions import RedisError

    try:
        django_rq.get_queue(queue_name(job.queue)).enqueue(
            job_run, str(job.pk), job_id=f"relief-{job.pk}", job_timeout=3600, result_ttl=3600
        )
    except RedisError:
        # The work is recorded; jobs_requeue_waiting hands it to a worker once Redis is back.
        logger.warning("Redis unavailable: job %s waits in the database", job.pk)


def jobs_requeue_waiting(*, older_than_seconds: int = 60) -> int:
    """Enqueue jobs still queued in the database but unknown to RQ (Redis was down, or lost them)."""
    if not settings.RELIEF_REDIS_URL:
        return 0
    import django_rq
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    requeued = 0
    for job in Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=cutoff)[:500]:
        queue = django_rq.get_queue(queue_name(job.queue))
        try:
            RQJob.fetch(f"relief-{job.pk}", connection=queue.connection)
            continue
        except NoSuchJobError:
            _enqueue(job)
            requeued += 1
    return requeued


def _resolve(path: str) -> Callable:
    module_name, _, attr = path.rpartition(".")
    return getattr(import_module(module_name), attr)


def job_run(job_id: str) -> None:
    """Entry point on the worker. A job already finished is not run again."""
    job = Job.objects.get(pk=job_id)
    if job.status in Job.TERMINAL:
        return
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), attempts=job.attempts + 1
    )
    job.refresh_from_db()
    try:
        result = _resolve(job.function)(job=job, **job.arguments)
    except Exception as exc:
        # The message shown to the user is the exception's own text: services raise clear ones.
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        job.status = Job.Status.FAILED
        job.message = str(exc)[:2000]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
        return
    job.status = Job.Status.FINISHED
    job.result = result if isinstance(result, dict | list | None) else {"value": str(result)}
    job.finished_at = timezone.now()
    if job.total:
        job.done = job.total
    job.save(update_fields=["status", "result", "finished_at", "done", "result_file", "message"])


def job_progress(job: Job, *, done: int, total: int | None = None, message: str = "") -> None:
    """Record progress; written outside any business transaction so the page sees it at once."""
    job.done = done
    fields = ["done"]
    if total is not None:
        job.total = total
        fields.append("total")
    if message:
        job.message = message
        fields.append("message")
    Job.objects.filter(pk=job.pk).update(**{f: getattr(job, f) for f in fields})


def sample_job(*, job: Job, steps: int = 3) -> dict:
    """A harmless job the desk can start to check that workers run (Administrator tool)."""
    for step in range(1, steps + 1):
        job_progress(job, done=step, total=steps, message=f"step {step} of {steps}")
    return {"steps": steps, "worker": settings.RELIEF_QUEUE_PREFIX or "default"}
