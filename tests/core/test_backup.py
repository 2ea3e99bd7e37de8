"""Backup and restore through the `relief` command, on MariaDB and on SQLite."""

import json
import tarfile
import uuid

import pymysql
import pytest

from tests.conftest import run_relief


def _drop(*names):
    conn = pymysql.connect(host="127.0.0.1", user="root")
    with conn.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def _count(name, table):
    conn = pymysql.connect(host="127.0.0.1", user="root", database=name)
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        (count,) = cursor.fetchone()
    conn.close()
    return count


@pytest.fixture
def env(tmp_path):
    (tmp_path / "sites").mkdir()
    return {"RELIEF_SITES_DIR": str(tmp_path / "sites")}


def test_mariadb_site_backs_up_and_restores_into_a_new_site(env, tmp_path):
    source, restored = f"test_relief_bk_{uuid.uuid4().hex[:6]}", None
    try:
        made = run_relief("new-site", "b.localhost", "--db-url", f"mysql://root@127.0.0.1:3306/{source}",
                          "--admin-password", "pass-12345", env=env)
        assert made.returncode == 0, made.stderr
        assert run_relief("--site", "b.localhost", "demo", "--households", "20", "--password", "pass-12345",
                          env=env).returncode == 0
        done = run_relief("--site", "b.localhost", "backup", "--out", str(tmp_path / "out"), env=env)
        assert done.returncode == 0, done.stderr
        (archive,) = (tmp_path / "out").glob("b.localhost-*.tar.gz")
        with tarfile.open(archive) as tar:
            names = set(tar.getnames())
        assert {"manifest.json", "manifest.hmac", "database.sql", "site_config.json"} <= names
        assert any(n.startswith("keys/") and n.endswith(".pem") for n in names)

        back = run_relief("--site", "r.localhost", "restore", str(archive), env=env)
        assert back.returncode == 0, back.stderr
        restored = "r_localhost"
        for table in ("auth_user", "core_site", "core_block", "core_namingseries"):
            assert _count(restored, table) == _count(source, table)
        checked = run_relief("--site", "r.localhost", "check", env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        again = run_relief("--site", "r.localhost", "restore", str(archive), env=env)
        assert again.returncode == 1 and "already exists" in again.stderr
    finally:
        _drop(source, "r_localhost")


def test_sqlite_site_round_trip_and_bad_archives(env, tmp_path):
    assert run_relief("new-site", "s.localhost", "--admin-password", "pass-12345", env=env).returncode == 0
    assert run_relief("--site", "s.localhost", "backup", env=env).returncode == 0
    (archive,) = (tmp_path / "sites" / "s.localhost" / "backups").glob("*.tar.gz")
    assert run_relief("--site", "s2.localhost", "restore", str(archive), env=env).returncode == 0
    assert run_relief("--site", "s2.localhost", "check", env=env).returncode == 0
    config = json.loads((tmp_path / "sites" / "s2.localhost" / "site_config.json").read_text())
    assert config["restored_from"] == archive.name

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    bad = run_relief("--site", "s3.localhost", "restore", str(junk), env=env)
    assert bad.returncode == 1 and "not a Relief backup" in bad.stderr
    assert not (tmp_path / "sites" / "s3.localhost").exists()


def test_scheduler_enqueues_the_daily_backup_once_per_day(db):
    from relief.core.models import Job
    from relief.core.scheduler import scheduler_tick

    now = 1_800_000_000.0 + uuid.uuid4().int % 10_000 * 86400
    first = scheduler_tick(now)
    second = scheduler_tick(now + 60)
    assert "daily-backup" in first and "daily-backup" not in second
    assert Job.objects.filter(kind="daily-backup").count() == 1
