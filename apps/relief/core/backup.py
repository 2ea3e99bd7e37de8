"""Backups: one dated archive per site holding a consistent database dump, the site
config, its signing keys and its files; restored into a new site.

MariaDB is dumped with ``mariadb-dump --single-transaction`` (a consistent snapshot
while postings go on); SQLite with its online backup API.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from relief import config

ARCHIVE_FORMAT = 1
KEEP_DAYS = 14


class BackupError(Exception):
    pass


def _mysql_args(db: config.DatabaseURL) -> tuple[list[str], dict]:
    env = {**os.environ, "MYSQL_PWD": db.password}
    return ["-h", db.host, "-P", str(db.port), "-u", db.user], env


def _dump_database(db: config.DatabaseURL, dest: Path) -> str:
    if db.engine == "sqlite":
        target = dest / "db.sqlite3"
        source = sqlite3.connect(db.name)
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        copy.close()
        source.close()
        return target.name
    target = dest / "database.sql"
    args, env = _mysql_args(db)
    with target.open("wb") as out:
        done = subprocess.run(
            ["mariadb-dump", *args, "--single-transaction", "--quick", "--routines", "--triggers", "--hex-blob",
             "--default-character-set=utf8mb4", db.name],
            stdout=out, stderr=subprocess.PIPE, env=env, check=False,
        )
    if done.returncode != 0:
        raise BackupError(f"mariadb-dump failed: {done.stderr.decode(errors='replace').strip()}")
    return target.name


def backup_create(*, site_config: config.SiteConfig, out_dir: Path | None = None) -> Path:
    """Write ``<site>-<UTC stamp>.tar.gz``; the archive appears only once complete."""
    if site_config.site_dir is None:
        raise BackupError("backup needs a site (--site NAME)")
    db = config.parse_db_url(site_config.db_url, site_config.site_dir)
    out_dir = out_dir or site_config.site_dir / "backups"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    archive = out_dir / f"{site_config.site}-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        dump_name = _dump_database(db, Path(tmp))
        manifest = {"format": ARCHIVE_FORMAT, "site": site_config.site, "created": stamp,
                    "engine": db.engine, "database": dump_name}
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
            tar.add(Path(tmp) / dump_name, arcname=dump_name)
            tar.add(site_config.site_dir / "site_config.json", arcname="site_config.json")
            for folder in ("keys", "files"):
                if (site_config.site_dir / folder).exists():
                    tar.add(site_config.site_dir / folder, arcname=folder)
        os.replace(partial, archive)
    (out_dir / "last-backup.json").write_text(json.dumps({"archive": archive.name, "created": stamp}))
    return archive


def backup_prune(*, directory: Path, keep_days: int = KEEP_DAYS) -> list[Path]:
    cutoff = time.time() - keep_days * 86400
    removed = []
    for archive in sorted(directory.glob("*.tar.gz")):
        if archive.stat().st_mtime < cutoff:
            archive.unlink()
            removed.append(archive)
    return removed


def last_backup(site_config: config.SiteConfig) -> dict | None:
    if site_config.site_dir is None:
        return None
    marker = site_config.site_dir / "backups" / "last-backup.json"
    return json.loads(marker.read_text()) if marker.exists() else None


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in tar.getmembers():
        path = Path(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"archive entry {member.name!r} is not allowed")
        members.append(member)
    return members


def backup_restore(*, archive: Path, site: str, db_url: str | None, mysql_create, mysql_drop) -> Path:
    """Create site ``site`` from an archive; nothing is kept if any step fails."""
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    site_dir = config.sites_dir() / site
    if site_dir.exists():
        raise BackupError(f"site '{site}' already exists ({site_dir}); restore into a new site name")
    if not tarfile.is_tarfile(archive):
        raise BackupError(f"{archive.name}: not a Relief backup (not a tar archive)")
    with tarfile.open(archive, "r:*") as tar, tempfile.TemporaryDirectory() as tmp:
        members = _safe_members(tar)
        tar.extractall(tmp, members=members, filter="data")
        root = Path(tmp)
        try:
            manifest = json.loads((root / "manifest.json").read_text())
            old_config = json.loads((root / "site_config.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BackupError(f"{archive.name}: manifest.json or site_config.json missing or unreadable") from exc
        if manifest.get("format") != ARCHIVE_FORMAT:
            raise BackupError(f"{archive.name}: archive format {manifest.get('format')} is not supported")
        if db_url is None:
            db_url = "sqlite" if manifest["engine"] == "sqlite" else _sibling_database(old_config["db_url"], site)
        db = config.parse_db_url(db_url, site_dir)
        created_db = False
        try:
            site_dir.mkdir(parents=True)
            for folder in ("keys", "files"):
                if (root / folder).exists():
                    shutil.copytree(root / folder, site_dir / folder)
            if (site_dir / "keys").exists():
                os.chmod(site_dir / "keys", 0o700)
            if db.engine == "sqlite":
                if manifest["engine"] != "sqlite":
                    raise BackupError("a MariaDB backup restores into MariaDB: give --db-url mysql://...")
                shutil.copyfile(root / manifest["database"], db.name)
            else:
                if manifest["engine"] != "mysql":
                    raise BackupError("a SQLite backup restores into SQLite: give --db-url sqlite")
                mysql_create(db)
                created_db = True
                args, env = _mysql_args(db)
                with (root / manifest["database"]).open("rb") as dump:
                    done = subprocess.run(["mariadb", *args, db.name], stdin=dump, stderr=subprocess.PIPE,
                                          env=env, check=False)
                if done.returncode != 0:
                    raise BackupError(f"loading the dump failed: {done.stderr.decode(errors='replace').strip()}")
            new_config = {**old_config, "db_url": db_url if db.engine == "mysql" else "sqlite",
                          "queue_prefix": f"{site}.", "restored_from": archive.name}
            fd = os.open(site_dir / "site_config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(new_config, fh, indent=2)
        except BaseException:
            shutil.rmtree(site_dir, ignore_errors=True)
            if created_db:
                mysql_drop(db)
            raise
    return site_dir


def _sibling_database(old_url: str, site: str) -> str:
    """The archived site's server, with a database named after the new site."""
    name = "".join(c if c.isalnum() else "_" for c in site)[:64]
    head, _, _old_name = old_url.rpartition("/")
    return f"{head}/{name}"


def backup_scheduled(*, job) -> dict:
    """The daily backup job: back up, then drop archives older than the retention."""
    from django.conf import settings

    archive = backup_create(site_config=settings.SITE_CONFIG)
    removed = backup_prune(directory=archive.parent)
    return {"archive": archive.name, "pruned": len(removed)}
