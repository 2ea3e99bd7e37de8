import django_rq
import pytest
from django.conf import settings
from django.test import override_settings

from relief.core import jobs
from relief.core.models import Job

DEAD = "redis://127.0.0.1:1/0"


def redis_down():
    queues = {name: {**conf, "URL": DEAD} for name, conf in settings.RQ_QUEUES.items()}
    return override_settings(RELIEF_REDIS_URL=DEAD, RQ_QUEUES=queues)


def test_health_reports_each_part(users, client):
    client.force_login(users["admin"])  # the details are for Administrators (or the health token)
    body = client.get("/health/").json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert set(body["checks"]["redis"]["queues"]) == {"short", "default", "long"}


def test_redis_down_is_a_failing_health_and_a_red_banner_for_administrators(users, client):
    with redis_down():
        client.force_login(users["admin"])
        response = client.get("/health/")
        assert response.status_code == 503
        assert response.json()["checks"]["redis"]["ok"] is False
        assert b"REDIS DOWN" in client.get("/desk/").content
        client.force_login(users["warehouse"])
        page = client.get("/desk/")
        assert page.status_code == 200 and b"REDIS DOWN" not in page.content


@pytest.mark.django_db(transaction=True)
def test_jobs_started_while_redis_is_down_wait_then_run_once_it_is_back(users):
    with redis_down():
        job = jobs.job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 2},
                             user=users["admin"], queue="short")
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert jobs.jobs_requeue_waiting(older_than_seconds=0) == 1
    assert jobs.jobs_requeue_waiting(older_than_seconds=0) == 0
    django_rq.get_worker(jobs.queue_name("short")).work(burst=True)
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.attempts == 1


def test_a_missing_backup_fails_only_once_a_backup_period_has_passed(tmp_path, settings):
    import os
    import time

    from relief import config
    from relief.core.health import BACKUP_STALE_HOURS, _backup

    site_dir = tmp_path / "x.localhost"
    site_dir.mkdir()
    (site_dir / "site_config.json").write_text("{}")
    settings.SITE_CONFIG = config.SiteConfig(
        site="x.localhost", site_dir=site_dir, db_url="sqlite", redis_url=None, secret_key="k", debug=False,
        time_zone="UTC", language="en", organisation="x", queue_prefix="", raw={})
    assert _backup() == {"ok": True, "last": None}
    old = time.time() - (BACKUP_STALE_HOURS + 1) * 3600
    os.utime(site_dir / "site_config.json", (old, old))
    assert _backup() == {"ok": False, "last": None}
