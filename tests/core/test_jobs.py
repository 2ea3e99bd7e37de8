import django_rq
import pytest
from django.test import override_settings

from relief.core import jobs
from relief.core.models import Job


def _run_worker():
    queues = [jobs.queue_name(q) for q in ("short", "default", "long")]
    django_rq.get_worker(*queues).work(burst=True)


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_after_commit_runs_on_a_worker_with_progress(users):
    job = jobs.job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 4},
                         user=users["admin"], queue="short")
    assert django_rq.get_queue(jobs.queue_name("short")).count == 1
    _run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.done == 4 and job.total == 4 and job.percent == 100


@pytest.mark.django_db(transaction=True)
def test_a_job_in_a_rolled_back_transaction_is_never_enqueued(users):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        jobs.job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={}, queue="short")
        raise RuntimeError
    assert django_rq.get_queue(jobs.queue_name("short")).count == 0
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_finished_job_is_not_run_again_and_a_failure_is_reported():
    job = jobs.job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 1})
    _run_worker()
    jobs.job_run(str(job.pk))
    job.refresh_from_db()
    assert job.attempts == 1
    bad = jobs.job_start(kind="broken", function="relief.core.jobs.sample_job", arguments={"steps": "x"})
    _run_worker()
    bad.refresh_from_db()
    assert bad.status == Job.Status.FAILED and "str" in bad.message


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_without_redis_the_job_runs_in_process_after_commit():
    with override_settings(RELIEF_REDIS_URL=None):
        job = jobs.job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 2})
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED


def test_job_pages_belong_to_who_started_them(users, client):
    job = Job.objects.create(kind="sample", function="relief.core.jobs.sample_job", created_by=users["warehouse"])
    client.force_login(users["warehouse"])
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    assert client.get(f"/jobs/{job.pk}/status/").json()["status"] == "queued"
    client.force_login(users["auditor"])
    assert client.get(f"/jobs/{job.pk}/status/").status_code == 403
    client.force_login(users["admin"])
    assert client.get(f"/jobs/{job.pk}/").status_code == 200


def test_unknown_queue_is_refused():
    with pytest.raises(ValueError, match="unknown queue"):
        jobs.queue_name("urgent")
