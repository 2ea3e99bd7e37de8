"""/health/ tells anonymous callers only up or down; the details need an Administrator or the site's health
token. The API docs are for signed-in users and load nothing from a CDN (issue 13, item 8)."""

import dataclasses
import re

import pytest
from django.conf import settings as django_settings


@pytest.fixture
def health_token(settings):
    settings.SITE_CONFIG = dataclasses.replace(
        django_settings.SITE_CONFIG, raw={**django_settings.SITE_CONFIG.raw, "health_token": "monitor-secret-123"})
    return "monitor-secret-123"


def test_health_for_anonymous_is_only_up_or_down(db, client, health_token):
    response = client.get("/health/")
    assert response.status_code in (200, 503)
    assert set(response.json()) == {"status"}
    wrong = client.get("/health/", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert set(wrong.json()) == {"status"}


def test_health_details_with_the_health_token(db, client, health_token):
    body = client.get("/health/", HTTP_AUTHORIZATION=f"Bearer {health_token}").json()
    assert {"database", "redis", "backup"} <= set(body["checks"])


def test_health_details_for_administrators_only(users, client):
    client.force_login(users["warehouse"])
    assert set(client.get("/health/").json()) == {"status"}
    client.force_login(users["admin"])
    assert "checks" in client.get("/health/").json()


def test_api_docs_need_a_signed_in_user_and_use_local_assets(users, client):
    anonymous = client.get("/api/v1/docs")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(users["auditor"])
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") or s.startswith("data:") for s in sources), sources
    assert "cdn" not in html.lower()
    for source in sources:
        if source.startswith("/static/"):
            assert client.get(source).status_code == 200, source
