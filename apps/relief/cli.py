"""The ``relief`` command: Relief's bench.

    relief new-site NAME [--db-url URL|sqlite] [--redis-url URL] [--admin-password PW]
    relief use NAME
    relief start [--port N] [--households N]
    relief --site NEW restore ARCHIVE [--db-url URL] [--hmac-key FILE | --foreign]
    relief [--site NAME] <command> [args...]   (any Django management command, and
                                                serve, worker, scheduler, demo, check, rotate-key)

The site comes from --site, else RELIEF_SITE, else sites/currentsite.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

from relief import config

DEFAULT_SITE = "relief.localhost"


class CLIError(Exception):
    """Reported as one line and a non-zero exit."""


def _fail(message: str, code: int = 1) -> int:
    print(f"relief: error: {message}", file=sys.stderr)
    return code


def _mysql_connect(db: config.DatabaseURL, database: str | None = None):
    import pymysql

    try:
        return pymysql.connect(
            host=db.host, port=db.port, user=db.user, password=db.password, database=database,
            connect_timeout=5, charset="utf8mb4",
        )
    except pymysql.err.OperationalError as exc:
        raise CLIError(f"cannot connect to MariaDB at {db.host}:{db.port} as {db.user}: {exc.args[-1]}") from exc


def _mysql_database_exists(db: config.DatabaseURL) -> bool:
    conn = _mysql_connect(db)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", [db.name])
            return cursor.fetchone() is not None
    finally:
        conn.close()


def _mysql_execute(db: config.DatabaseURL, sql: str) -> None:
    conn = _mysql_connect(db)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


def _check_redis(url: str) -> None:
    import redis

    config.parse_redis_url(url)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except (redis.exceptions.RedisError, ValueError) as exc:
        raise CLIError(f"cannot reach Redis at {config._redact(url)}: {exc}") from exc


def _setup_django(site: str) -> None:
    os.environ["RELIEF_SITE"] = site
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relief.settings")
    import django

    django.setup()


def new_site(name: str, *, db_url: str, redis_url: str | None, admin_password: str | None,
             extra: dict | None = None) -> str:
    """Create a site end to end, or nothing at all. Returns the admin password."""
    if not config.SITE_NAME_RE.match(name):
        raise CLIError(f"site name {name!r}: use lowercase letters, digits, dots and dashes (e.g. relief.localhost)")
    site_dir = config.sites_dir() / name
    if site_dir.exists():
        raise CLIError(f"site '{name}' already exists ({site_dir}); choose another name")
    db = config.parse_db_url(db_url, site_dir)
    if redis_url:
        _check_redis(redis_url)
    if admin_password is not None and len(admin_password) < 8:
        raise CLIError("--admin-password: at least 8 characters")
    if db.engine == "mysql" and _mysql_database_exists(db):
        raise CLIError(f"database '{db.name}' already exists on {db.host}:{db.port}; give a new database name")

    password = admin_password or secrets.token_urlsafe(9)
    created_db = False
    try:
        if db.engine == "mysql":
            _mysql_execute(db, f"CREATE DATABASE `{db.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            created_db = True
        site_dir.mkdir(parents=True)
        from relief.core.files import private_dir

        # The site folder holds the secret key, database credentials, signing keys and uploads.
        private_dir(site_dir)
        private_dir(site_dir / "files")
        if db.engine == "sqlite":
            # SQLite gives its journal the database file's mode: create it 0600 before Django opens it.
            os.close(os.open(db.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        site_config = {
            "db_url": db_url if db.engine == "mysql" else "sqlite",
            "redis_url": redis_url or "",
            "secret_key": secrets.token_urlsafe(50),
            # A monitor sends it (Authorization: Bearer …) to read /health/'s details.
            "health_token": secrets.token_urlsafe(24),
            # Sites sharing one Redis keep their queues apart.
            "queue_prefix": f"{name}.",
            **(extra or {}),
        }
        path = site_dir / "site_config.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(site_config, fh, indent=2)
        from relief.core import signing

        signing.key_create(site_dir / "keys")
        _setup_django(name)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        from relief.core.setup import administrator_create

        administrator_create(username="admin", password=password)
    except BaseException as exc:
        shutil.rmtree(site_dir, ignore_errors=True)
        if created_db:
            _mysql_execute(db, f"DROP DATABASE IF EXISTS `{db.name}`")
        if isinstance(exc, Exception) and not isinstance(exc, CLIError | config.ConfigError):
            raise CLIError(f"could not create site '{name}' ({type(exc).__name__}: {exc}); nothing was kept") from exc
        raise
    return password


def _cmd_new_site(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="relief new-site")
    parser.add_argument("name")
    parser.add_argument("--db-url", default="sqlite")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--admin-password", default=None)
    args = parser.parse_args(argv)
    password = new_site(args.name, db_url=args.db_url, redis_url=args.redis_url, admin_password=args.admin_password)
    print(f"site '{args.name}' created in {config.sites_dir() / args.name}")
    if args.admin_password is None:
        print(f"Administrator login: admin / {password}")
    return 0


def _cmd_use(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="relief use")
    parser.add_argument("name")
    args = parser.parse_args(argv)
    if not (config.sites_dir() / args.name / "site_config.json").exists():
        raise CLIError(f"unknown site '{args.name}': no {config.sites_dir() / args.name / 'site_config.json'}")
    (config.sites_dir() / "currentsite.txt").write_text(args.name + "\n")
    print(f"current site: {args.name}")
    return 0


def _cmd_start(argv: list[str]) -> int:
    """What `make run` calls: the embedded default site, demo data, served."""
    parser = argparse.ArgumentParser(prog="relief start")
    parser.add_argument("--site", default=DEFAULT_SITE)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--households", type=int, default=500)
    args = parser.parse_args(argv)
    site_dir = config.sites_dir() / args.site
    if not site_dir.exists():
        print(f"creating site '{args.site}' (SQLite in {site_dir}) ...", flush=True)
        password = secrets.token_urlsafe(9)
        new_site(args.site, db_url="sqlite", redis_url=None, admin_password=password,
                 extra={"demo_password": password, "debug": False})
    marker = config.sites_dir() / "currentsite.txt"
    if not marker.exists():
        marker.write_text(args.site + "\n")
    _setup_django(args.site)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    password = settings.SITE_CONFIG.raw.get("demo_password")
    demo_marker = site_dir / ".demo-loaded"
    just_loaded = bool(password) and not demo_marker.exists()
    if just_loaded:
        print("loading demo data ...", flush=True)
        call_command("demo", households=args.households, password=password)
        demo_marker.write_text("ok\n")
    from relief.core.roles import DEMO_USERS

    print(f"\nRelief is running at http://127.0.0.1:{args.port}/desk/  (site {args.site})")
    # The demo command has just printed the logins; a second start prints them here.
    if password and not just_loaded:
        print("demo logins (username / password):")
        for username, role in DEMO_USERS.items():
            print(f"  {username:<13} {password}   ({role})")
    print("stop with Ctrl-C\n", flush=True)
    call_command("serve", port=args.port)
    return 0


def _cmd_restore(argv: list[str]) -> int:
    """Restore a backup archive into a new site."""
    from relief.core.backup import BackupError, backup_restore

    parser = argparse.ArgumentParser(prog="relief --site NEW restore")
    parser.add_argument("archive", type=Path)
    parser.add_argument("--site", required=True, help="the new site to create from the archive")
    parser.add_argument("--db-url", default=None,
                        help="database for the new site (default: the archived server, a database named after it)")
    parser.add_argument("--hmac-key", type=Path, default=None,
                        help="the archived site's keys/backup.key, to check an archive made on another machine")
    parser.add_argument("--foreign", action="store_true",
                        help="restore an archive whose signature this machine cannot check (only if you trust it)")
    args = parser.parse_args(argv)
    if not config.SITE_NAME_RE.match(args.site):
        raise CLIError(f"site name {args.site!r}: use lowercase letters, digits, dots and dashes")

    def create(db: config.DatabaseURL) -> None:
        if _mysql_database_exists(db):
            raise CLIError(f"database '{db.name}' already exists on {db.host}:{db.port}; give --db-url")
        _mysql_execute(db, f"CREATE DATABASE `{db.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def drop(db: config.DatabaseURL) -> None:
        _mysql_execute(db, f"DROP DATABASE IF EXISTS `{db.name}`")

    try:
        site_dir = backup_restore(archive=args.archive, site=args.site, db_url=args.db_url,
                                  mysql_create=create, mysql_drop=drop, hmac_key_file=args.hmac_key,
                                  foreign=args.foreign)
    except BackupError as exc:
        raise CLIError(str(exc)) from exc
    print(f"restored {args.archive.name} into site '{args.site}' ({site_dir}); "
          f"verify with: relief --site {args.site} check")
    return 0


BENCH_COMMANDS = {"new-site": _cmd_new_site, "use": _cmd_use, "start": _cmd_start, "restore": _cmd_restore}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    site = None
    if argv[:1] == ["--site"]:
        if len(argv) < 2:
            return _fail("--site needs a site name")
        site, argv = argv[1], argv[2:]
    elif argv and argv[0].startswith("--site="):
        site, argv = argv[0].split("=", 1)[1], argv[1:]
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    try:
        if argv[0] in BENCH_COMMANDS:
            if site and argv[0] in {"start", "restore"}:
                argv = [argv[0], "--site", site, *argv[1:]]
            return BENCH_COMMANDS[argv[0]](argv[1:])
        return _run_django(site, argv)
    except (CLIError, config.ConfigError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def _run_django(site: str | None, argv: list[str]) -> int:
    site = site or config.current_site()
    if site is None and not os.environ.get("RELIEF_DB_URL"):
        raise CLIError("no site selected: give --site NAME, set RELIEF_SITE, or run `relief use NAME`")
    if site is not None:
        # Fails here, with the site named, before Django starts.
        config.load(site)
        os.environ["RELIEF_SITE"] = site
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relief.settings")
    from django.core.management import execute_from_command_line

    # Commands are typed with dashes (rotate-key) and live in modules with underscores.
    execute_from_command_line(["relief", argv[0].replace("-", "_"), *argv[1:]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
