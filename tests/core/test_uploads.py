"""Upload limits checked before reading, in the web process and in jobs; private upload files and their
retention; jobs whose worker died marked failed with the reason (issue 13, items 2-3)."""

import io
import json
import os
import signal
import stat
import time
import zipfile

import django_rq
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from relief.core import jobs
from relief.core.models import Job
from relief.households.importer import ImportFileError, Mapping, files_dir, run_import
from relief.households.jobs import imports_prune_job
from relief.inventory import services as inventory
from relief.inventory.models import Warehouse
from tests.households.builders import KoboHousehold, head, kobo_csv


def _workbook_bytes(rows=(("item", "lot", "counted"), ("BLK", "L1", 3))) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_dimension(data: bytes, ref: str) -> bytes:
    """The same workbook whose sheet declares ``ref`` as its dimension (a 1.9 KB file claiming a huge sheet)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                start = body.index(b'<dimension ref="')
                end = body.index(b'"', start + 16)
                body = body[:start + 16] + ref.encode() + body[end:]
            dst.writestr(info.filename, body)
    return out.getvalue()


def _zip_bomb(data: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/media/padding.bin", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


def _import(path):
    return run_import(path=path, mapping=Mapping.load("kobo_example"), user=None, site_ids=None, dry_run=True)


@pytest.mark.django_db
def test_import_of_an_xlsx_declaring_a_huge_sheet_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.xlsx"
    path.write_bytes(_with_dimension(_workbook_bytes(), "A1:XFD1048576"))
    assert path.stat().st_size < 10_000
    started = time.monotonic()
    with pytest.raises(ImportFileError) as refused:
        _import(path)
    assert time.monotonic() - started < 5
    assert "upload_rows" in str(refused.value) and "site config" in str(refused.value)


@pytest.mark.django_db
def test_import_of_a_zip_bomb_is_refused_naming_the_ratio(tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_zip_bomb(_workbook_bytes()))
    with pytest.raises(ImportFileError) as refused:
        _import(path)
    assert "xlsx_zip_ratio" in str(refused.value)


@pytest.mark.django_db
def test_import_csv_beyond_the_size_or_row_limit_is_refused(tmp_path, settings):
    path = kobo_csv(tmp_path / "export.csv", [KoboHousehold(head=head(given=f"N{n}"), members=[],
                                                            group_id=f"G-{n}") for n in range(6)])
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "upload_rows": 5}
    with pytest.raises(ImportFileError) as refused:
        _import(path)
    assert "upload_rows" in str(refused.value)
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "upload_rows": 100, "upload_bytes": 100}
    with pytest.raises(ImportFileError) as refused:
        _import(path)
    assert "upload_bytes" in str(refused.value)


@pytest.fixture
def registrar(client, users):
    client.force_login(users["registrar"])
    return client


@pytest.mark.django_db
def test_import_page_refuses_an_upload_beyond_the_limit_before_reading_it(registrar, settings):
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "upload_bytes": 1000}
    before = set(files_dir().iterdir())
    big = io.BytesIO(b"a,b\n" + b"1,2\n" * 30_000)
    big.name = "export.csv"
    response = registrar.post(reverse("households:import"), {"file": big, "mapping": "kobo_example"})
    assert response.status_code == 413 and "upload_bytes" in response.content.decode()
    assert set(files_dir().iterdir()) == before and not Job.objects.exists()


@pytest.mark.django_db
def test_import_page_refuses_a_huge_declared_sheet_without_queueing_a_job(registrar):
    upload = io.BytesIO(_with_dimension(_workbook_bytes(), "A1:ZZ900000"))
    upload.name = "export.xlsx"
    response = registrar.post(reverse("households:import"), {"file": upload, "mapping": "kobo_example"})
    assert response.status_code == 200 and "upload_" in response.content.decode()
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_import_page_deeply_nested_mapping_is_a_form_error_not_500(registrar, tmp_path):
    upload = io.BytesIO(b"a,b\n1,2\n")
    upload.name = "export.csv"
    mapping = io.BytesIO(b"[" * 50_000 + b"]" * 50_000)
    mapping.name = "mapping.json"
    response = registrar.post(reverse("households:import"), {"file": upload, "mapping": "kobo_example",
                                                             "mapping_file": mapping})
    assert response.status_code == 200 and "json_depth" in response.content.decode()


@pytest.mark.django_db
def test_uploaded_import_files_are_private_whatever_the_umask(registrar):
    old = os.umask(0)
    try:
        upload = io.BytesIO(b"a,b\n1,2\n")
        upload.name = "export.csv"
        mapping = io.BytesIO(json.dumps({"format": "plain"}).encode())
        mapping.name = "m.json"
        before = set(files_dir().iterdir())
        registrar.post(reverse("households:import"), {"file": upload, "mapping": "kobo_example"})
        made = set(files_dir().iterdir()) - before
    finally:
        os.umask(old)
    assert made and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in made)
    assert stat.S_IMODE(files_dir().stat().st_mode) == 0o700


@pytest.mark.django_db
def test_uploaded_import_files_are_deleted_after_the_retention_period(settings):
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "upload_retention_days": 7}
    old, fresh = files_dir() / "old-upload.csv", files_dir() / "fresh-upload.csv"
    for path in (old, fresh):
        path.write_text("a,b\n")
    eight_days_ago = time.time() - 8 * 86400
    os.utime(old, (eight_days_ago, eight_days_ago))
    job = Job.objects.create(kind="households-imports-prune", function="x", arguments={})
    assert imports_prune_job(job=job)["removed"] >= 1
    assert not old.exists() and fresh.exists()
    fresh.unlink()


@pytest.fixture
def count(users):
    main = Warehouse.objects.create(code="KGM", name="Kigoma main", kind=Warehouse.Kind.MAIN)
    return inventory.count_sheet_create(warehouse=main, user=users["admin"])


@pytest.mark.django_db
def test_count_sheet_declaring_a_huge_sheet_is_refused_at_once(client, users, count):
    client.force_login(users["manager"])
    upload = io.BytesIO(_with_dimension(_workbook_bytes(), "A1:XFD1048576"))
    upload.name = "count.xlsx"
    started = time.monotonic()
    page = client.post(f"/inventory/counts/{count.pk}/upload/", {"sheet": upload})
    assert time.monotonic() - started < 5
    assert page.status_code == 200 and "upload_rows" in page.content.decode()


@pytest.mark.django_db
def test_count_sheet_beyond_the_size_limit_is_refused_before_reading(client, users, count, settings):
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "upload_bytes": 1000}
    client.force_login(users["manager"])
    upload = io.BytesIO(_workbook_bytes([("item", "lot", "counted")] + [("BLK", f"L{n}", n) for n in range(3000)]))
    upload.name = "count.xlsx"
    page = client.post(f"/inventory/counts/{count.pk}/upload/", {"sheet": upload})
    assert "upload_bytes" in page.content.decode()


def job_that_dies(*, job):
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_was_killed_is_failed_with_the_reason_not_left_running():
    job = jobs.job_start(kind="dies", function="tests.core.test_uploads.job_that_dies", arguments={}, queue="short")
    queue = jobs.queue_name("short")
    try:
        worker = jobs.ReliefWorker([django_rq.get_queue(queue)], connection=django_rq.get_connection(queue))
        worker.work(burst=True)
    finally:
        for name in settings.RELIEF_QUEUES:
            django_rq.get_queue(jobs.queue_name(name)).empty()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at
    assert "SIGKILL" in job.message and "memory" in job.message


def test_the_worker_command_runs_the_worker_that_reports_deaths():
    source = (settings.BASE_DIR / "core" / "management" / "commands" / "worker.py").read_text()
    assert 'worker_class="relief.core.jobs.ReliefWorker"' in source
    assert Client  # noqa: B018 - imported for the page tests above
