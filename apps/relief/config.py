"""Site configuration, read the way Frappe's bench reads it.

Order: ``sites/common_site_config.json``, then ``sites/<site>/site_config.json``,
then the environment (``RELIEF_DB_URL``, ``RELIEF_REDIS_URL``, ``RELIEF_SECRET_KEY``).
A missing or bad key fails loudly with its name.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

SITE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
DB_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class ConfigError(Exception):
    """A configuration problem, reported as one line naming it."""


def sites_dir() -> Path:
    env = os.environ.get("RELIEF_SITES_DIR")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2] / "sites"


def current_site() -> str | None:
    site = os.environ.get("RELIEF_SITE")
    if site:
        return site
    marker = sites_dir() / "currentsite.txt"
    if marker.exists():
        return marker.read_text().strip() or None
    return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a JSON object")
    return data


@dataclass(frozen=True)
class SiteConfig:
    site: str | None
    site_dir: Path | None
    db_url: str
    redis_url: str | None
    secret_key: str
    debug: bool
    time_zone: str
    language: str
    organisation: str
    queue_prefix: str
    raw: dict

    @property
    def health_token(self) -> str:
        """What a monitor sends (``Authorization: Bearer …``) to read /health/'s details; empty: none."""
        return str(os.environ.get("RELIEF_HEALTH_TOKEN") or self.raw.get("health_token") or "")

    @property
    def limits(self) -> dict[str, int]:
        """``limits`` of the site config over :data:`LIMITS` (every value a positive whole number)."""
        given = self.raw.get("limits", {})
        if not isinstance(given, dict):
            raise ConfigError("limits: must be a JSON object, e.g. {\"upload_bytes\": 20000000}")
        unknown = sorted(set(given) - set(LIMITS))
        if unknown:
            raise ConfigError(f"limits: unknown key {unknown[0]!r} (known: {', '.join(sorted(LIMITS))})")
        out = dict(LIMITS)
        for name, value in given.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"limits.{name}: expected a whole number of at least 1, got {value!r}")
            out[name] = value
        return out

    @property
    def keys_dir(self) -> Path:
        env = os.environ.get("RELIEF_KEYS_DIR")
        if env:
            return Path(env)
        if self.site_dir is None:
            raise ConfigError("no site selected: RELIEF_KEYS_DIR is required without a site")
        return self.site_dir / "keys"

    @property
    def tls_dir(self) -> Path:
        """The site's local certificate authority and HTTPS certificate (``relief lan-tls``)."""
        env = os.environ.get("RELIEF_TLS_DIR")
        if env:
            return Path(env)
        if self.site_dir is None:
            raise ConfigError("no site selected: RELIEF_TLS_DIR is required without a site")
        return self.site_dir / "tls"

    @property
    def files_dir(self) -> Path:
        env = os.environ.get("RELIEF_FILES_DIR")
        if env:
            return Path(env)
        if self.site_dir is None:
            raise ConfigError("no site selected: RELIEF_FILES_DIR is required without a site")
        return self.site_dir / "files"


# What hostile or careless input may cost, overridable per site under "limits" in site_config.json.
# The README lists them; `relief check` and the pages read them through settings.RELIEF_LIMITS.
LIMITS: dict[str, int] = {
    "upload_bytes": 20 * 1024 * 1024,  # one uploaded import file or count sheet
    "upload_rows": 100_000,  # data rows of one sheet or CSV
    "upload_columns": 200,
    "upload_cells": 5_000_000,  # rows x columns as the sheet declares them
    "xlsx_unzipped_bytes": 200 * 1024 * 1024,  # all members of an XLSX once inflated
    "xlsx_zip_ratio": 100,  # inflated size / compressed size of any member (zip bomb)
    "upload_retention_days": 7,  # uploaded import files kept after commit or abandon
    "sync_batch": 500,  # offline scans judged per upload; the rest come back "deferred"
    "sync_issues_per_upload": 50,  # conflicts + rejections one upload may record
    "sync_clock_tolerance_seconds": 300,  # how far in the future a device clock may run
    "sync_event_tolerance_hours": 12,  # scanned_at may start this long before the event's day
    "json_depth": 20,  # nesting of a JSON body or mapping
}


def load(site: str | None = None) -> SiteConfig:
    site = site or current_site()
    root = sites_dir()
    data: dict = {}
    common = root / "common_site_config.json"
    if common.exists():
        data.update(_read_json(common))
    site_dir = None
    if site:
        site_dir = root / site
        path = site_dir / "site_config.json"
        if not path.exists():
            raise ConfigError(f"unknown site '{site}': {path} does not exist (create it with `relief new-site {site}`)")
        data.update(_read_json(path))
    db_url = os.environ.get("RELIEF_DB_URL") or data.get("db_url")
    if not db_url:
        raise ConfigError("db_url is not set: select a site (--site, RELIEF_SITE) or set RELIEF_DB_URL")
    secret_key = os.environ.get("RELIEF_SECRET_KEY") or data.get("secret_key")
    if not secret_key:
        raise ConfigError("secret_key is not set in the site config or RELIEF_SECRET_KEY")
    redis_url = os.environ.get("RELIEF_REDIS_URL", data.get("redis_url")) or None
    if redis_url:
        parse_redis_url(redis_url)
    return SiteConfig(
        site=site,
        site_dir=site_dir,
        db_url=db_url,
        redis_url=redis_url,
        secret_key=secret_key,
        debug=_as_bool("debug", os.environ.get("RELIEF_DEBUG", data.get("debug", False))),
        time_zone=str(data.get("time_zone", "Africa/Dar_es_Salaam")),
        language=str(data.get("language", "en")),
        organisation=str(data.get("organisation", "Relief")),
        queue_prefix=os.environ.get("RELIEF_QUEUE_PREFIX", data.get("queue_prefix", "")),
        raw=data,
    )


def _as_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


@dataclass(frozen=True)
class DatabaseURL:
    engine: str  # "sqlite" or "mysql"
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: int = 3306


def parse_db_url(url: str, site_dir: Path | None = None) -> DatabaseURL:
    """Parse ``sqlite``, ``sqlite:///path`` or ``mysql://user:pass@host:port/name``."""
    if url == "sqlite":
        if site_dir is None:
            raise ConfigError("db_url 'sqlite' needs a site folder; give sqlite:///path/to/db.sqlite3")
        return DatabaseURL(engine="sqlite", name=str(site_dir / "db.sqlite3"))
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path
        if not path or path == "/":
            raise ConfigError(f"db_url {url!r}: a sqlite URL needs a file path (sqlite:///path/db.sqlite3)")
        return DatabaseURL(engine="sqlite", name=path)
    if parts.scheme not in {"mysql", "mariadb"}:
        raise ConfigError(f"db_url {_redact(url)!r}: expected mysql://user:pass@host:port/dbname or sqlite")
    name = parts.path.lstrip("/")
    if not DB_NAME_RE.match(name):
        raise ConfigError(f"db_url {_redact(url)!r}: database name {name!r} must be 1-64 letters, digits or _")
    if not parts.hostname:
        raise ConfigError(f"db_url {_redact(url)!r}: no host")
    try:
        port = parts.port or 3306
    except ValueError as exc:
        raise ConfigError(f"db_url {_redact(url)!r}: bad port") from exc
    return DatabaseURL(
        engine="mysql",
        name=name,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        host=parts.hostname,
        port=port,
    )


def parse_redis_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"} or not (parts.hostname or parts.path):
        raise ConfigError(f"redis_url {_redact(url)!r}: expected redis://host:port/db")
    return url


def _redact(url: str) -> str:
    """Hide a password in a URL shown in an error."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def django_database(db: DatabaseURL) -> dict:
    if db.engine == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": db.name,
            # Writers wait for the lock instead of failing at once.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    return {
        "ENGINE": "django.db.backends.mysql",
        "NAME": db.name,
        "USER": db.user,
        "PASSWORD": db.password,
        "HOST": db.host,
        "PORT": str(db.port),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES', default_storage_engine=InnoDB",
        },
        "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    }
