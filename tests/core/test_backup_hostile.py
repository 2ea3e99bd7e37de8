"""Restore runs nothing from an archive; archives are signed, private and checked whole (issue 13, items 1-2)."""

import hashlib
import hmac
import io
import json
import os
import stat
import tarfile
import uuid

import pymysql
import pytest

from tests.conftest import run_relief


@pytest.fixture
def env(tmp_path):
    (tmp_path / "sites").mkdir()
    return {"RELIEF_SITES_DIR": str(tmp_path / "sites")}


def _database_exists(name):
    conn = pymysql.connect(host="127.0.0.1", user="root")
    with conn.cursor() as cursor:
        found = cursor.execute("SHOW DATABASES LIKE %s", [name])
    conn.close()
    return bool(found)


def _craft(path, *, site, dump, key, engine="mysql", sign=True):
    """An archive in Relief's format as a hostile party with the site's backup key (or none) would make it."""
    site_config = json.dumps({"db_url": f"mysql://root@127.0.0.1:3306/{site.replace('.', '_')}",
                              "secret_key": "x" * 50}).encode()
    name = "database.sql" if engine == "mysql" else "db.sqlite3"
    members = {name: dump, "site_config.json": site_config}
    manifest = json.dumps({"format": 2, "site": site, "created": "20261201T000000Z", "engine": engine,
                           "database": name,
                           "members": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}}).encode()
    files = {"manifest.json": manifest, **members}
    if sign:
        files["manifest.hmac"] = json.dumps({"key": "k", "hmac": hmac.new(key, manifest, "sha256").hexdigest()}
                                            ).encode()
    with tarfile.open(path, "w:gz") as tar:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _site_key(env, site):
    keys = os.path.join(env["RELIEF_SITES_DIR"], site, "keys")
    os.makedirs(keys)
    key = os.urandom(32)
    with open(os.path.join(keys, "backup.key"), "w") as fh:
        fh.write(key.hex())
    return key


def test_restore_refuses_a_dump_with_client_commands_and_creates_nothing(env, tmp_path):
    key = _site_key(env, "src.localhost")
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    dump = f"CREATE TABLE t (a int);\n\\! touch {marker}\nsystem touch {marker}\nINSERT INTO t VALUES (1);\n"
    archive = _craft(tmp_path / "evil.tar.gz", site="src.localhost", dump=dump.encode(), key=key)
    for flags in ((), ("--foreign",)):
        done = run_relief("--site", "evil.localhost", "restore", str(archive), *flags, env=env)
        assert done.returncode == 1
        assert "client command" in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert not marker.exists()
    assert not (tmp_path / "sites" / "evil.localhost").exists()
    assert not _database_exists("evil_localhost")


def test_restore_runs_the_client_sandboxed_so_an_inline_command_does_not_run(env, tmp_path):
    key = _site_key(env, "src.localhost")
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    dump = f"CREATE TABLE t (a int); \\! touch {marker}\n".encode()
    archive = _craft(tmp_path / "inline.tar.gz", site="src.localhost", dump=dump, key=key)
    try:
        done = run_relief("--site", "inline.localhost", "restore", str(archive), env=env)
        assert done.returncode == 1 and "sandbox" in done.stderr and "Traceback" not in done.stderr
        assert not marker.exists()
        assert not (tmp_path / "sites" / "inline.localhost").exists()
        assert not _database_exists("inline_localhost")
    finally:
        conn = pymysql.connect(host="127.0.0.1", user="root")
        with conn.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS inline_localhost")
        conn.close()


def test_restore_refuses_an_unsigned_or_foreign_archive_without_the_flag(env, tmp_path):
    assert run_relief("new-site", "s.localhost", "--admin-password", "pass-12345", env=env).returncode == 0
    assert run_relief("--site", "s.localhost", "backup", env=env).returncode == 0
    (archive,) = (tmp_path / "sites" / "s.localhost" / "backups").glob("*.tar.gz")
    # The HMAC key is in the site's keys, never in the archive.
    with tarfile.open(archive) as tar:
        assert not any(n.endswith("backup.key") for n in tar.getnames())
    # The same archive on another machine (another sites folder): refused, then restored with the site's key.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = {"RELIEF_SITES_DIR": str(elsewhere)}
    refused = run_relief("--site", "s2.localhost", "restore", str(archive), env=other)
    assert refused.returncode == 1 and "--foreign" in refused.stderr and "Traceback" not in refused.stderr
    assert not (elsewhere / "s2.localhost").exists()
    key = tmp_path / "sites" / "s.localhost" / "keys" / "backup.key"
    assert run_relief("--site", "s2.localhost", "restore", str(archive), "--hmac-key", str(key),
                      env=other).returncode == 0
    # An archive altered after it was made: its signature no longer matches.
    forged = _craft(tmp_path / "forged.tar.gz", site="s.localhost", dump=b"SQLite format 3\0", key=os.urandom(32),
                    engine="sqlite")
    refused = run_relief("--site", "s3.localhost", "restore", str(forged), env=env)
    assert refused.returncode == 1 and "does not match its signature" in refused.stderr
    unsigned = _craft(tmp_path / "unsigned.tar.gz", site="s.localhost", dump=b"x", key=b"", engine="sqlite",
                      sign=False)
    refused = run_relief("--site", "s3.localhost", "restore", str(unsigned), env=env)
    assert refused.returncode == 1 and "no signature" in refused.stderr
    assert not (tmp_path / "sites" / "s3.localhost").exists()


def test_restore_of_a_truncated_archive_is_one_clear_line(env, tmp_path):
    assert run_relief("new-site", "t.localhost", "--admin-password", "pass-12345", env=env).returncode == 0
    assert run_relief("--site", "t.localhost", "backup", env=env).returncode == 0
    (archive,) = (tmp_path / "sites" / "t.localhost" / "backups").glob("*.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    done = run_relief("--site", "t2.localhost", "restore", str(cut), env=env)
    assert done.returncode == 1
    assert "truncated or damaged" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "sites" / "t2.localhost").exists()


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_archives_and_restored_sites_are_private_whatever_the_umask(env, tmp_path):
    old = os.umask(0)
    try:
        assert run_relief("new-site", "p.localhost", "--admin-password", "pass-12345", env=env).returncode == 0
        assert run_relief("--site", "p.localhost", "backup", env=env).returncode == 0
        site = tmp_path / "sites" / "p.localhost"
        (archive,) = (site / "backups").glob("*.tar.gz")
        assert _mode(archive) == 0o600 and _mode(site / "backups") == 0o700
        assert _mode(site) == 0o700 and _mode(site / "keys") == 0o700 and _mode(site / "files") == 0o700
        assert _mode(site / "keys" / "backup.key") == 0o600 and _mode(site / "site_config.json") == 0o600
        assert _mode(site / "db.sqlite3") == 0o600
        assert all(_mode(p) == 0o600 for p in (site / "keys").glob("*.pem"))
        assert run_relief("--site", "p2.localhost", "restore", str(archive), env=env).returncode == 0
        restored = tmp_path / "sites" / "p2.localhost"
        assert _mode(restored) == 0o700 and _mode(restored / "site_config.json") == 0o600
        assert _mode(restored / "db.sqlite3") == 0o600
        assert all(_mode(p) == 0o600 for p in (restored / "keys").glob("*.pem"))
    finally:
        os.umask(old)
