"""Backups: one dated archive per site holding a consistent database dump, the site
config, its signing keys and its files; restored into a new site.

MariaDB is dumped with ``mariadb-dump --single-transaction`` (a consistent snapshot
while postings go on); SQLite with its online backup API.

An archive is 0600 and carries a manifest of its members' SHA-256 and an HMAC of that manifest made with the
site's ``keys/backup.key`` (never archived). Restore runs nothing from the archive: it checks the HMAC (an
archive from elsewhere needs ``--foreign`` or that site's key with ``--hmac-key``), the digests, refuses a dump
holding mariadb client commands, and loads it with ``mariadb --sandbox``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

from relief import config
from relief.core import files

ARCHIVE_FORMAT = 2
KEEP_DAYS = 14
# The HMAC key of a site's backups: in its keys folder, never in an archive (an archive that carried its own key
# would prove nothing). Keep a copy apart from the backups to restore them on another machine (--hmac-key).
HMAC_KEY_FILE = "backup.key"
DUMP_NAMES = {"mysql": "database.sql", "sqlite": "db.sqlite3"}
# Lines of a dump that the mariadb client would run as its own commands (shell, files, another server): a dump
# from mariadb-dump has none, so one is refused before anything is created. --sandbox catches any other form.
CLIENT_COMMAND = re.compile(rb"^\s*(?:\\[!.TPer]|(?:system|source|tee|pager|edit|connect)(?:\s|;|$))", re.I)
SANDBOX_LINE = b"/*M!999999\\- enable the sandbox mode */"


class BackupError(Exception):
    """A backup or restore problem, shown as one line."""


def _mysql_args(db: config.DatabaseURL) -> tuple[list[str], dict]:
    env = {**os.environ, "MYSQL_PWD": db.password}
    return ["-h", db.host, "-P", str(db.port), "-u", db.user], env


def _dump_database(db: config.DatabaseURL, dest: Path) -> str:
    if db.engine == "sqlite":
        target = dest / DUMP_NAMES["sqlite"]
        source = sqlite3.connect(db.name)
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        copy.close()
        source.close()
        os.chmod(target, files.FILE_MODE)
        return target.name
    target = dest / DUMP_NAMES["mysql"]
    args, env = _mysql_args(db)
    with files.private_file(target) as out:
        done = subprocess.run(
            ["mariadb-dump", *args, "--single-transaction", "--quick", "--routines", "--triggers", "--hex-blob",
             "--default-character-set=utf8mb4", db.name],
            stdout=out, stderr=subprocess.PIPE, env=env, check=False,
        )
    if done.returncode != 0:
        raise BackupError(f"mariadb-dump failed: {done.stderr.decode(errors='replace').strip()}")
    return target.name


def hmac_key(keys_dir: Path, *, create: bool = False) -> bytes | None:
    path = keys_dir / HMAC_KEY_FILE
    if not path.exists():
        if not create:
            return None
        files.private_write(path, secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _sign(key: bytes, manifest: bytes) -> bytes:
    return json.dumps({"key": _key_id(key), "hmac": hmac.new(key, manifest, hashlib.sha256).hexdigest()}).encode()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = files.FILE_MODE
    tar.addfile(info, io.BytesIO(data))


def backup_create(*, site_config: config.SiteConfig, out_dir: Path | None = None) -> Path:
    """Write ``<site>-<UTC stamp>.tar.gz`` (0600 in a 0700 folder), signed with the site's backup HMAC key;
    the archive appears only once complete."""
    if site_config.site_dir is None:
        raise BackupError("backup needs a site (--site NAME)")
    db = config.parse_db_url(site_config.db_url, site_config.site_dir)
    # The site's backups folder is made private; a folder the operator named with --out keeps its mode.
    out_dir = files.private_dir(out_dir, only_new=True) if out_dir else files.private_dir(
        site_config.site_dir / "backups")
    key = hmac_key(site_config.site_dir / "keys", create=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    archive = out_dir / f"{site_config.site}-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        dump_name = _dump_database(db, Path(tmp))
        sources = {dump_name: Path(tmp) / dump_name, "site_config.json": site_config.site_dir / "site_config.json"}
        for folder in ("keys", "files"):
            base = site_config.site_dir / folder
            for path in sorted(base.rglob("*")) if base.exists() else ():
                if path.is_file() and not path.is_symlink() and path.name != HMAC_KEY_FILE:
                    sources[str(path.relative_to(site_config.site_dir))] = path
        members = {name: _sha256(path) for name, path in sources.items()}
        manifest = json.dumps({"format": ARCHIVE_FORMAT, "site": site_config.site, "created": stamp,
                               "engine": db.engine, "database": dump_name, "members": members}, indent=2).encode()
        with files.private_file(archive) as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            _add_bytes(tar, "manifest.json", manifest)
            _add_bytes(tar, "manifest.hmac", _sign(key, manifest))
            for name, path in sources.items():
                tar.add(path, arcname=name, recursive=False)
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


def _check_signature(*, name: str, root: Path, manifest: dict, raw: bytes, hmac_key_file: Path | None,
                     foreign: bool) -> None:
    """The archive's HMAC against this bench's key for its site (or --hmac-key); refused unless it matches or
    the operator said --foreign."""
    try:
        signed = json.loads((root / "manifest.hmac").read_text())
        claimed = bytes.fromhex(signed["hmac"])
    except (OSError, ValueError, KeyError, TypeError):
        signed, claimed = None, None
    site = manifest.get("site")
    if hmac_key_file is not None:
        try:
            key = bytes.fromhex(hmac_key_file.read_text().strip())
        except (OSError, ValueError) as exc:
            raise BackupError(f"--hmac-key {hmac_key_file}: not a backup key file ({exc})") from exc
    else:
        key = hmac_key(config.sites_dir() / site / "keys") if isinstance(site, str) and config.SITE_NAME_RE.match(
            site) else None
    if key is not None and claimed is not None and hmac.compare_digest(
            claimed, hmac.new(key, raw, hashlib.sha256).digest()):
        return
    if foreign:
        return
    if claimed is None:
        why = "carries no signature (made before signed backups, or altered)"
    elif key is None:
        why = f"is signed by a key this machine does not hold (site {site!r}: give its {HMAC_KEY_FILE} with --hmac-key)"
    else:
        why = "does not match its signature: altered, or signed by another machine's key"
    raise BackupError(f"{name} {why}; restore it only if you trust where it came from, with --foreign")


def _check_members(*, name: str, root: Path, manifest: dict) -> None:
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        raise BackupError(f"{name}: manifest.json lists no members")
    present = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - {"manifest.json", "manifest.hmac"}
    odd = sorted(present ^ set(listed))
    if odd:
        raise BackupError(f"{name}: {odd[0]} is {'not listed in' if odd[0] in present else 'missing from'} "
                          "the manifest")
    for member, digest in sorted(listed.items()):
        if _sha256(root / member) != digest:
            raise BackupError(f"{name}: {member} differs from what the manifest records")


def _check_dump(path: Path) -> None:
    """Refuse a dump holding mariadb client commands, naming the first."""
    with path.open("rb") as dump:
        for number, line in enumerate(dump, start=1):
            if line.rstrip() != SANDBOX_LINE and CLIENT_COMMAND.match(line):
                shown = line.strip()[:60].decode(errors="replace")
                raise BackupError(f"{path.name} line {number} is a mariadb client command ({shown!r}), "
                                  "not SQL: refused, nothing restored")


def _open_archive(archive: Path, tmp: Path) -> None:
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(tmp, members=_safe_members(tar), filter="data")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{archive.name}: truncated or damaged archive, nothing restored "
                          f"({type(exc).__name__}: {exc})") from None


def backup_restore(*, archive: Path, site: str, db_url: str | None, mysql_create, mysql_drop,
                   hmac_key_file: Path | None = None, foreign: bool = False) -> Path:
    """Create site ``site`` from an archive; nothing is kept if any step fails. Nothing in the archive is run:
    its signature and member digests are checked, its dump holds no client command, and the mariadb client
    loads it with --sandbox."""
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    site_dir = config.sites_dir() / site
    if site_dir.exists():
        raise BackupError(f"site '{site}' already exists ({site_dir}); restore into a new site name")
    if not tarfile.is_tarfile(archive):
        raise BackupError(f"{archive.name}: not a Relief backup (not a tar archive)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _open_archive(archive, root)
        try:
            raw = (root / "manifest.json").read_bytes()
            manifest = json.loads(raw)
            old_config = json.loads((root / "site_config.json").read_text())
        except (OSError, ValueError) as exc:
            raise BackupError(f"{archive.name}: manifest.json or site_config.json missing or unreadable") from exc
        if not isinstance(manifest, dict) or not isinstance(old_config, dict):
            raise BackupError(f"{archive.name}: manifest.json or site_config.json is not a JSON object")
        if manifest.get("format") not in (1, ARCHIVE_FORMAT):
            raise BackupError(f"{archive.name}: archive format {manifest.get('format')} is not supported")
        if DUMP_NAMES.get(manifest.get("engine")) != manifest.get("database"):
            raise BackupError(f"{archive.name}: manifest names an unknown engine or database file")
        _check_signature(name=archive.name, root=root, manifest=manifest, raw=raw, hmac_key_file=hmac_key_file,
                         foreign=foreign)
        if manifest["format"] == ARCHIVE_FORMAT:
            _check_members(name=archive.name, root=root, manifest=manifest)
        if manifest["engine"] == "mysql":
            _check_dump(root / manifest["database"])
        if db_url is None:
            db_url = "sqlite" if manifest["engine"] == "sqlite" else _sibling_database(old_config["db_url"], site)
        db = config.parse_db_url(db_url, site_dir)
        created_db = False
        try:
            files.private_dir(site_dir)
            for folder in ("keys", "files"):
                if (root / folder).exists():
                    shutil.copytree(root / folder, site_dir / folder)
                    _make_private(site_dir / folder)
            if db.engine == "sqlite":
                if manifest["engine"] != "sqlite":
                    raise BackupError("a MariaDB backup restores into MariaDB: give --db-url mysql://...")
                with files.private_file(Path(db.name)) as out, (root / manifest["database"]).open("rb") as src:
                    shutil.copyfileobj(src, out)
            else:
                if manifest["engine"] != "mysql":
                    raise BackupError("a SQLite backup restores into SQLite: give --db-url sqlite")
                mysql_create(db)
                created_db = True
                args, env = _mysql_args(db)
                with (root / manifest["database"]).open("rb") as dump:
                    done = subprocess.run(["mariadb", "--sandbox", *args, db.name], stdin=dump,
                                          stderr=subprocess.PIPE, env=env, check=False)
                if done.returncode != 0:
                    raise BackupError("loading the dump failed, nothing restored: "
                                      + done.stderr.decode(errors="replace").strip().splitlines()[-1][:300])
            new_config = {**old_config, "db_url": db_url if db.engine == "mysql" else "sqlite",
                          "queue_prefix": f"{site}.", "restored_from": archive.name}
            files.private_write(site_dir / "site_config.json", json.dumps(new_config, indent=2))
        except BaseException:
            shutil.rmtree(site_dir, ignore_errors=True)
            if created_db:
                mysql_drop(db)
            raise
    return site_dir


def _make_private(folder: Path) -> None:
    os.chmod(folder, files.DIR_MODE)
    for path in folder.rglob("*"):
        os.chmod(path, files.DIR_MODE if path.is_dir() else files.FILE_MODE)


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
