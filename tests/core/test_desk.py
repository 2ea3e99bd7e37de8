import re

import pytest
from django.core.management import call_command

ROLE_USERS = ["admin", "manager", "warehouse", "distribution", "registrar", "auditor"]


@pytest.mark.smoke
@pytest.mark.django_db
def test_the_desk_login_page_is_branded_and_serves_local_assets(client):
    page = client.get("/desk/login/")
    assert page.status_code == 200 and b"Relief" in page.content
    assert not re.search(rb'(src|href)="(https?:)?//', page.content)
    assert client.get("/static/relief/desk.css").status_code == 200


@pytest.mark.parametrize("username", ROLE_USERS)
def test_every_role_reaches_its_desk_home(users, client, username):
    client.force_login(users[username])
    page = client.get("/desk/")
    assert page.status_code == 200
    assert b"Your work" in page.content


def test_anonymous_and_outsiders_are_kept_out(users, client):
    assert client.get("/desk/").status_code == 302
    assert client.get("/").status_code == 302
    client.force_login(users["outsider"])
    assert b"no role yet" in client.get("/desk/").content


@pytest.mark.parametrize(("username", "status"), [(u, 302 if u == "admin" else 403) for u in ROLE_USERS])
def test_only_an_administrator_starts_a_test_job(users, client, username, status):
    client.force_login(users[username])
    assert client.post("/jobs/sample/").status_code == status


@pytest.mark.parametrize(("username", "status"), [("admin", 200), ("auditor", 200), ("warehouse", 403)])
def test_the_audit_trail_is_visible_to_those_who_may_read_the_record(users, client, username, status):
    from relief.core.models import Block

    block = Block.objects.get(site__code="NYA", code="B01")
    client.force_login(users[username])
    response = client.get(f"/desk/core/block/{block.pk}/history/")
    assert response.status_code == status
    if status == 200:
        assert b"Added" in response.content or b"Created" in response.content


def test_the_desk_speaks_kiswahili(users, client):
    client.force_login(users["warehouse"])
    response = client.post("/i18n/setlang/", {"language": "sw", "next": "/desk/"})
    assert response.status_code == 302
    page = client.get("/desk/")
    assert b"Kazi yako" in page.content


def test_auditor_cannot_change_a_site(users, client):
    from relief.core.models import Site

    site = Site.objects.get(code="NYA")
    client.force_login(users["auditor"])
    assert client.get(f"/desk/core/site/{site.pk}/change/").status_code == 200
    response = client.post(f"/desk/core/site/{site.pk}/change/", {"code": "HACK", "name": "x"})
    assert response.status_code == 403
    assert Site.objects.get(pk=site.pk).code == "NYA"


@pytest.mark.django_db
def test_models_and_migrations_agree():
    from django.conf import settings

    labels = ["core", *settings.RELIEF_DOMAIN_APPS]
    call_command("makemigrations", *labels, check=True, dry_run=True, verbosity=0)


def test_health_answers(client, users):
    assert client.get("/health/").json() == {"status": "ok"}  # anonymous: up or down only
    client.force_login(users["admin"])
    body = client.get("/health/").json()
    assert body["status"] == "ok" and body["checks"]["database"]["ok"]
