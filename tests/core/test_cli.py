"""The `relief` command as a new user runs it, in fresh processes."""

import json
import os
import stat
import uuid

import pymysql
import pytest

from tests.conftest import run_relief


@pytest.fixture
def sites_dir(tmp_path):
    root = tmp_path / "sites"
    root.mkdir()
    (root / "common_site_config.json").write_text(json.dumps({"language": "en"}))
    return root


@pytest.fixture
def mysql_name():
    name = f"test_relief_cli_{uuid.uuid4().hex[:8]}"
    yield name
    conn = pymysql.connect(host="127.0.0.1", user="root")
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def _database_exists(name: str) -> bool:
    conn = pymysql.connect(host="127.0.0.1", user="root")
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", [name])
        found = cursor.fetchone() is not None
    conn.close()
    return found


def test_new_site_on_mariadb_then_check_then_repeat_refused(sites_dir, mysql_name):
    env = {"RELIEF_SITES_DIR": str(sites_dir)}
    url = f"mysql://root@127.0.0.1:3306/{mysql_name}"
    made = run_relief("new-site", "s2", "--db-url", url, "--redis-url", "redis://127.0.0.1:6379/0",
                      "--admin-password", "pass-12345", env=env)
    assert made.returncode == 0, made.stderr
    site = sites_dir / "s2"
    config = json.loads((site / "site_config.json").read_text())
    assert config["db_url"] == url and config["secret_key"]
    keys = list((site / "keys").glob("*.pem"))
    assert len(keys) == 1 and stat.S_IMODE(os.stat(keys[0]).st_mode) == 0o600

    code = "from django.contrib.auth.models import User; print(User.objects.get(username='admin').password)"
    hashed = run_relief("--site", "s2", "shell", "-c", code, env=env)
    assert hashed.stdout.strip().splitlines()[-1].startswith("argon2$"), hashed.stderr

    checked = run_relief("--site", "s2", "check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no violations" in checked.stdout

    again = run_relief("new-site", "s2", "--db-url", url, env=env)
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "already exists" in again.stderr
    assert json.loads((site / "site_config.json").read_text()) == config


def test_check_names_a_missing_key_and_exits_non_zero(sites_dir):
    env = {"RELIEF_SITES_DIR": str(sites_dir)}
    assert run_relief("new-site", "k.localhost", "--admin-password", "pass-12345", env=env).returncode == 0
    for pem in (sites_dir / "k.localhost" / "keys").glob("*.pem"):
        pem.unlink()
    checked = run_relief("--site", "k.localhost", "check", env=env)
    assert checked.returncode == 1
    assert "VIOLATION: card-signing key" in checked.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new-site", "Bad Name"], "site name"),
        (["new-site", "x1", "--db-url", "postgres://h/db"], "expected mysql://"),
        (["new-site", "x1", "--db-url", "mysql://root@127.0.0.1:1/relief_x1"], "cannot connect to MariaDB"),
        (["new-site", "x1", "--redis-url", "redis://127.0.0.1:1/0"], "cannot reach Redis"),
        (["new-site", "x1", "--admin-password", "short"], "at least 8"),
        (["--site", "nowhere", "migrate"], "unknown site 'nowhere'"),
        (["use", "nowhere"], "unknown site 'nowhere'"),
        (["migrate"], "no site selected"),
    ],
)
def test_bad_input_is_one_clear_line_and_leaves_nothing(sites_dir, args, message):
    result = run_relief(*args, env={"RELIEF_SITES_DIR": str(sites_dir)})
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in sites_dir.iterdir()) == ["common_site_config.json"]


def test_existing_database_is_never_taken_over(sites_dir, mysql_name):
    conn = pymysql.connect(host="127.0.0.1", user="root")
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{mysql_name}`")
    conn.close()
    result = run_relief("new-site", "x2", "--db-url", f"mysql://root@127.0.0.1:3306/{mysql_name}",
                        env={"RELIEF_SITES_DIR": str(sites_dir)})
    assert result.returncode == 1 and "already exists" in result.stderr
    assert not (sites_dir / "x2").exists() and _database_exists(mysql_name)


def test_use_sets_the_current_site(sites_dir):
    env = {"RELIEF_SITES_DIR": str(sites_dir)}
    assert run_relief("new-site", "u.localhost", "--admin-password", "pass-12345", env=env).returncode == 0
    assert run_relief("use", "u.localhost", env=env).returncode == 0
    assert (sites_dir / "currentsite.txt").read_text().strip() == "u.localhost"
    shown = run_relief("showmigrations", "core", env=env)
    assert shown.returncode == 0 and "[X] 0002_create_role_groups" in shown.stdout
