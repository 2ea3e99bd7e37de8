"""Background jobs with progress the user can watch.

``job_start`` records a Job row and enqueues it on RQ after the transaction commits;
with no Redis configured (the embedded default) the job runs in process once the
transaction commits. A job function takes ``job`` plus JSON arguments (ids, not
objects), reports progress with ``job_progress`` and is safe to run twice.

A worker can die in the middle of a job (power cut, SIGKILL, out of memory). While a job runs,
its worker renews a short lease in Redis; the scheduler hands a running job whose lease lapsed to
another worker (``jobs_recover_abandoned``), at most ``MAX_ATTEMPTS`` runs in all. A job row is
claimed by one conditional update, so however often RQ delivers it, one run at a time does the work.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.models import Job

logger = logging.getLogger(__name__)

# A lease is renewed every LEASE_SECONDS / 4, so three missed renewals in a row mean the worker is gone.
LEASE_SECONDS = 20
MAX_ATTEMPTS = 3
# Enqueueing happens right after commit; a queued job unknown to RQ for this long was never handed over.
REQUEUE_AFTER_SECONDS = 15


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


def _rq_id(job_id) -> str:
    return f"relief-{job_id}"


def _redis():
    import redis

    return redis.Redis.from_url(settings.RELIEF_REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


def _enqueue(job: Job) -> None:
    if not settings.RELIEF_REDIS_URL:
        job_run(str(job.pk))
        return
    import django_rq
    from redis.exceptions import RedisError

    try:
        django_rq.get_queue(queue_name(job.queue)).enqueue(
            job_run, str(job.pk), job_id=_rq_id(job.pk), job_timeout=3600, result_ttl=3600
        )
    except RedisError:
        # The work is recorded; jobs_requeue_waiting hands it to a worker once Redis is back.
        logger.warning("Redis unavailable: job %s waits in the database", job.pk)


def jobs_requeue_waiting(*, older_than_seconds: int = REQUEUE_AFTER_SECONDS) -> int:
    """Enqueue jobs still queued in the database that RQ does not hold for a worker: Redis was down
    or lost them, or a worker died after taking the job from the queue and before starting it."""
    if not settings.RELIEF_REDIS_URL:
        return 0
    import django_rq
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob
    from rq.job import JobStatus

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    requeued = 0
    for job in Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=cutoff)[:500]:
        queue = django_rq.get_queue(queue_name(job.queue))
        try:
            rq_job = RQJob.fetch(_rq_id(job.pk), connection=queue.connection)
        except NoSuchJobError:
            rq_job = None
        if rq_job is not None:
            if rq_job.get_status() not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                continue
            rq_job.delete()
        _enqueue(job)
        requeued += 1
    return requeued


def jobs_recover_abandoned(*, max_attempts: int = MAX_ATTEMPTS) -> int:
    """Queue again each running job whose worker died (its lease lapsed); after ``max_attempts`` runs
    the job is failed with a message instead. Returns how many were queued again."""
    if not settings.RELIEF_REDIS_URL:
        return 0
    import django_rq
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob

    client = _redis()
    cutoff = timezone.now() - timedelta(seconds=LEASE_SECONDS)
    recovered = 0
    for job in Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=cutoff).order_by("started_at")[:500]:
        if client.exists(_lease_key(job.pk)):
            continue
        # Conditional on the attempt seen: of several schedulers, or a worker finishing just now, one wins.
        current = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)
        if job.attempts >= max_attempts:
            message = _("The worker running this job stopped %(n)s times; it was not tried again.") % {
                "n": job.attempts}
            current.update(status=Job.Status.FAILED, message=message, finished_at=timezone.now())
            logger.error("job %s (%s) abandoned %s times: failed", job.pk, job.kind, job.attempts)
            continue
        if not current.update(status=Job.Status.QUEUED):
            continue
        logger.warning("job %s (%s): worker lost during attempt %s; queued again", job.pk, job.kind, job.attempts)
        queue = django_rq.get_queue(queue_name(job.queue))
        with suppress(NoSuchJobError):
            RQJob.fetch(_rq_id(job.pk), connection=queue.connection).delete()
        _enqueue(job)
        recovered += 1
    return recovered


def _lease_key(job_id) -> str:
    return f"relief:{settings.RELIEF_QUEUE_PREFIX}job-lease:{job_id}"


class _Lease:
    """Held while a job runs on a worker: a Redis key renewed from a thread, gone soon after the worker is."""

    def __init__(self, job_id) -> None:
        self.key = _lease_key(job_id)
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None
        self.client = None

    def _renew(self) -> None:
        from redis.exceptions import RedisError

        try:
            self.client.set(self.key, "1", ex=LEASE_SECONDS)
        except RedisError:
            logger.warning("cannot renew the lease of a running job: Redis unavailable")

    def _keep(self) -> None:
        while not self.stopped.wait(LEASE_SECONDS / 4):
            self._renew()

    def __enter__(self) -> _Lease:
        if settings.RELIEF_REDIS_URL:
            self.client = _redis()
            self._renew()
            self.thread = threading.Thread(target=self._keep, name="relief-job-lease", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.thread is None:
            return
        from redis.exceptions import RedisError

        self.stopped.set()
        self.thread.join()
        with suppress(RedisError):
            self.client.delete(self.key)


def _resolve(path: str) -> Callable:
    module_name, _, attr = path.rpartition(".")
    return getattr(import_module(module_name), attr)


def job_run(job_id: str) -> None:
    """Entry point on the worker. Only a queued job is run: one finished, failed or running elsewhere is not."""
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return
    job = Job.objects.get(pk=job_id)
    # The lease is held until the outcome is saved, so a finishing job never looks abandoned.
    with _Lease(job.pk):
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


def job_worker_died(job_id, *, status: int, peak_kib: int = 0) -> bool:
    """The worker process running ``job_id`` ended without an outcome (killed, aborted, out of memory) while
    its parent lives: the job failed because of itself, and a rerun would end the same way. Marked failed
    with the reason; returns whether a running job was marked."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = {signal.SIGKILL: _("killed, usually by the system running out of memory"),
               signal.SIGABRT: _("aborted, e.g. a memory allocation refused")}.get(sig, _("stopped by a signal"))
        reason = _("The worker running this job ended: %(why)s (%(signal)s).") % {"why": why, "signal": name}
    else:
        reason = _("The worker running this job exited with status %(code)s.") % {
            "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else status}
    if peak_kib:
        reason += " " + _("Peak memory: %(mib)s MiB.") % {"mib": peak_kib // 1024}
    marked = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        status=Job.Status.FAILED, message=reason, finished_at=timezone.now())
    if marked:
        logger.error("job %s failed: %s", job_id, reason)
    return bool(marked)


@functools.cache
def _worker_class():
    from rq import Worker

    class ReliefWorker(Worker):
        """RQ's worker, telling the job's row when the process running it dies (RQ alone only knows it in
        Redis, and the row would wait for the lease to lapse and be tried again to die again)."""

        def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
            super().handle_work_horse_killed(job, retpid, ret_val, rusage)
            if job.id.startswith("relief-"):
                job_worker_died(job.id.removeprefix("relief-"), status=ret_val,
                                peak_kib=getattr(rusage, "ru_maxrss", 0))

    return ReliefWorker


def __getattr__(name: str):
    # ``relief.core.jobs.ReliefWorker`` for ``rqworker --worker-class``, without importing rq at startup.
    if name == "ReliefWorker":
        return _worker_class()
    raise AttributeError(name)


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
