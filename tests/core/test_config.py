import json

import pytest

from relief import config


@pytest.fixture
def sites(tmp_path, monkeypatch):
    root = tmp_path / "sites"
    (root / "a.localhost").mkdir(parents=True)
    (root / "common_site_config.json").write_text(json.dumps({"redis_url": "redis://common:6379/0", "language": "sw"}))
    (root / "a.localhost" / "site_config.json").write_text(json.dumps({"db_url": "sqlite", "secret_key": "k"}))
    monkeypatch.setenv("RELIEF_SITES_DIR", str(root))
    for name in ("RELIEF_SITE", "RELIEF_DB_URL", "RELIEF_REDIS_URL", "RELIEF_SECRET_KEY", "RELIEF_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.mark.smoke
def test_site_config_overrides_common_and_env_overrides_both(sites, monkeypatch):
    cfg = config.load("a.localhost")
    assert cfg.redis_url == "redis://common:6379/0" and cfg.language == "sw" and cfg.db_url == "sqlite"
    monkeypatch.setenv("RELIEF_REDIS_URL", "redis://env:6379/1")
    monkeypatch.setenv("RELIEF_DB_URL", "mysql://u:p@db:3307/relief")
    cfg = config.load("a.localhost")
    assert cfg.redis_url == "redis://env:6379/1" and cfg.db_url == "mysql://u:p@db:3307/relief"


def test_current_site_from_env_then_file(sites, monkeypatch):
    assert config.current_site() is None
    (sites / "currentsite.txt").write_text("a.localhost\n")
    assert config.current_site() == "a.localhost"
    monkeypatch.setenv("RELIEF_SITE", "b.localhost")
    assert config.current_site() == "b.localhost"


def test_unknown_site_and_bad_values_fail_with_their_name(sites, monkeypatch):
    with pytest.raises(config.ConfigError, match="unknown site 'nope'"):
        config.load("nope")
    monkeypatch.setenv("RELIEF_DEBUG", "maybe")
    with pytest.raises(config.ConfigError, match="debug"):
        config.load("a.localhost")
    monkeypatch.delenv("RELIEF_DEBUG")
    (sites / "a.localhost" / "site_config.json").write_text("{not json")
    with pytest.raises(config.ConfigError, match="not valid JSON"):
        config.load("a.localhost")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://x/y", "expected mysql://"),
        ("mysql://root@host/bad-name!", "database name"),
        ("mysql:///relief", "no host"),
        ("mysql://root@host:99999/relief", "bad port"),
        ("sqlite:///", "file path"),
    ],
)
def test_bad_database_urls_are_named(url, message):
    with pytest.raises(config.ConfigError, match=message):
        config.parse_db_url(url)


def test_database_url_parts_and_password_never_shown():
    db = config.parse_db_url("mysql://relief:s%40cret@10.0.0.5:3307/relief_prod")
    assert (db.user, db.password, db.host, db.port, db.name) == ("relief", "s@cret", "10.0.0.5", 3307, "relief_prod")
    with pytest.raises(config.ConfigError) as info:
        config.parse_db_url("postgres://relief:hunter2@db/x")
    assert "hunter2" not in str(info.value)
    django_db = config.django_database(db)
    assert django_db["OPTIONS"]["isolation_level"] == "read committed"
    assert django_db["OPTIONS"]["charset"] == "utf8mb4"
