"""Job recovery in process: leases, claims, bounded attempts, a scheduler that outlives an outage.
The end-to-end proof with a SIGKILLed worker is in test_faults.py."""

from __future__ import annotations

import datetime

import django_rq
import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rq.job import Job as RQJob

from relief.core import jobs
from relief.core.models import Job
from relief.core.scheduler import scheduler_tick

pytestmark = pytest.mark.ops

DEAD = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _empty_queues():
    """Leave the run's queues as found: other tests count what is queued."""
    yield
    for name in settings.RELIEF_QUEUES:
        django_rq.get_queue(jobs.queue_name(name)).empty()


def _client():
    return redis.Redis.from_url(settings.RELIEF_REDIS_URL)


def _work():
    django_rq.get_worker(*[jobs.queue_name(q) for q in settings.RELIEF_QUEUES]).work(burst=True)


def _abandoned(*, attempts: int, seconds_ago: int = 60) -> Job:
    """A job row as a SIGKILLed worker leaves it: running, started a while ago, no lease, RQ job stuck."""
    job = Job.objects.create(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 2},
                             queue="short", status=Job.Status.RUNNING, attempts=attempts,
                             started_at=timezone.now() - datetime.timedelta(seconds=seconds_ago))
    queue = django_rq.get_queue(jobs.queue_name("short"))
    stale = queue.enqueue(jobs.job_run, str(job.pk), job_id=jobs._rq_id(job.pk))
    queue.remove(stale)  # taken by the worker that died
    return job


def lease_seen_during(job_id) -> bool:
    return bool(_client().exists(jobs._lease_key(job_id)))


def job_that_looks_at_its_lease(*, job) -> dict:
    return {"lease": lease_seen_during(job.pk)}


@pytest.mark.django_db(transaction=True)
def test_a_running_job_holds_a_lease_that_is_gone_when_it_ends():
    job = jobs.job_start(kind="lease", function="tests.ops.test_job_recovery.job_that_looks_at_its_lease",
                         arguments={}, queue="short")
    _work()
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.result == {"lease": True}
    assert not lease_seen_during(job.pk)


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_died_is_queued_again_and_finishes_once():
    job = _abandoned(attempts=1)
    assert jobs.jobs_recover_abandoned() == 1
    assert jobs.jobs_recover_abandoned() == 0  # queued now: nothing more to recover
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    _work()
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.attempts == 2 and job.done == 2
    # Delivered again by RQ (a duplicate enqueue): the finished job is not run a third time.
    jobs.job_run(str(job.pk))
    job.refresh_from_db()
    assert job.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_job_with_a_live_lease_or_just_started_is_left_alone():
    alive = _abandoned(attempts=1)
    _client().set(jobs._lease_key(alive.pk), "1", ex=30)
    fresh = _abandoned(attempts=1, seconds_ago=1)
    try:
        assert jobs.jobs_recover_abandoned() == 0
    finally:
        _client().delete(jobs._lease_key(alive.pk))
    assert set(Job.objects.filter(pk__in=[alive.pk, fresh.pk]).values_list("status", flat=True)) == {
        Job.Status.RUNNING}


@pytest.mark.django_db(transaction=True)
def test_after_max_attempts_the_job_fails_with_a_message():
    job = _abandoned(attempts=jobs.MAX_ATTEMPTS)
    assert jobs.jobs_recover_abandoned() == 0
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and str(jobs.MAX_ATTEMPTS) in job.message and job.finished_at


@pytest.mark.django_db(transaction=True)
def test_a_queued_job_whose_rq_job_was_abandoned_before_it_started_is_queued_again():
    job = Job.objects.create(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 1},
                             queue="short", created_at=timezone.now() - datetime.timedelta(minutes=5))
    queue = django_rq.get_queue(jobs.queue_name("short"))
    stale = queue.enqueue(jobs.job_run, str(job.pk), job_id=jobs._rq_id(job.pk))
    queue.remove(stale)
    stale.set_status("failed")
    assert jobs.jobs_requeue_waiting() == 1
    assert RQJob.fetch(jobs._rq_id(job.pk), connection=queue.connection).get_status() == "queued"
    _work()
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_tick_outlives_redis_going_away():
    _abandoned(attempts=1)
    queues = {name: {**conf, "URL": DEAD} for name, conf in settings.RQ_QUEUES.items()}
    with override_settings(RELIEF_REDIS_URL=DEAD, RQ_QUEUES=queues):
        assert "recovered-abandoned-jobs" not in scheduler_tick(1_900_000_000.0)
    assert "recovered-abandoned-jobs" in scheduler_tick(1_900_000_000.0)
