"""The scanner API over HTTP: verdicts and status codes, idempotency, manifest, sync, and the role matrix."""

import datetime
import json
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from relief.core.services import api_token_create
from relief.distribution.models import Redemption
from tests.distribution.conftest import build_world


def bearer(user, **kw):
    _token, raw = api_token_create(user=user, name="scanner", **kw)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, url, body, auth):
    return client.post(url, data=json.dumps(body), content_type="application/json", **auth)


@pytest.mark.smoke
@pytest.mark.django_db
def test_verify_redeem_retry_and_already_collected(world):
    client, auth = Client(), bearer(world.users["distribution"])
    events = client.get("/api/v1/events?status=open", **auth).json()
    assert events == [{"id": world.event.pk, "name": "Nyarugusu round 1", "cycle": world.cycle.number,
                       "date": world.event.date.isoformat(), "site": "NYA", "distribution_point": "NYA-DP"}]
    body = {"code": world.code(2), "event": world.event.pk}
    verified = post(client, "/api/v1/scan/verify", body, auth)
    assert verified.status_code == 200 and verified.json()["verdict"] == "entitled"
    assert {e["item"] for e in verified.json()["entitlements"]} == {"BLK", "NET", "JRC"}
    redeem = {**body, "client_id": "dev1-0001", "lane": 2}
    first = post(client, "/api/v1/scan/redeem", redeem, auth)
    assert first.status_code == 201 and first.json()["verdict"] == "redeemed"
    retry = post(client, "/api/v1/scan/redeem", redeem, auth)
    assert retry.status_code == 201 and retry.json()["redemption"]["id"] == first.json()["redemption"]["id"]
    again = post(client, "/api/v1/scan/redeem", {**redeem, "client_id": "dev1-0002"}, auth)
    assert again.status_code == 409 and again.json()["verdict"] == "already_collected"
    bad = post(client, "/api/v1/scan/redeem", {**redeem, "client_id": "dev1-0003", "code": "RC1:zz"}, auth)
    assert bad.status_code == 422 and bad.json()["verdict"] == "invalid"
    assert Redemption.objects.count() == 1


@pytest.mark.django_db
def test_bad_bodies_name_the_field(world):
    client, auth = Client(), bearer(world.users["distribution"])
    resp = post(client, "/api/v1/scan/redeem", {"code": world.code(0), "event": world.event.pk}, auth)
    assert resp.status_code == 422 and "client_id" in resp.json()["detail"]
    resp = post(client, "/api/v1/scan/redeem", {"code": world.code(2), "event": world.event.pk, "client_id": "a",
                                                "lines": [{"item": "BLK", "qty": 1}]}, auth)
    assert resp.status_code == 422 and "lines.0.reason" in resp.json()["detail"]
    resp = post(client, "/api/v1/scan/verify", {"code": "x" * 5000, "event": world.event.pk}, auth)
    assert resp.status_code == 422
    resp = post(client, "/api/v1/scan/verify", {"code": "RC1:" + "A" * 1000, "event": world.event.pk}, auth)
    assert resp.json()["verdict"] == "invalid" and resp.json()["reason"] == "oversized"
    assert Redemption.objects.count() == 0


@pytest.mark.django_db
def test_manifest_has_keys_revocations_entitlements_and_no_names(world):
    from relief.distribution import services

    services.card_replace(card=world.cards[0], reason="lost", user=world.users["admin"])
    services.redemption_record(code=world.code(1), event=world.event, client_id="m1",
                               user=world.users["distribution"])
    client, auth = Client(), bearer(world.users["distribution"])
    resp = client.get(f"/api/v1/events/{world.event.pk}/manifest", **auth)
    assert resp.status_code == 200
    data = resp.json()
    assert world.cards[0].serial in data["revoked"]
    assert len(data["cards"]) == 4 and world.cards[-1].serial not in data["cards"]  # the NDU household
    entry = data["cards"][world.cards[2].serial]
    assert entry["s"] == 5 and entry["i"] == "A.N." and sorted(entry["e"]) == [["BLK", 5], ["JRC", 1], ["NET", 3]]
    assert data["cards"][world.cards[1].serial]["c"]["lane"] == 1
    assert len(data["keys"]) >= 1
    text = resp.content.decode()
    assert "Niyonzima" not in text and "Aline" not in text and "Habimana" not in text


@pytest.mark.django_db
def test_sync_endpoint(world):
    client, auth = Client(), bearer(world.users["distribution"])
    # Scan times within the event (today): a time outside it is refused (tests/distribution/test_sync_hostile.py).
    at = timezone.now() - datetime.timedelta(minutes=30)
    queue = {"redemptions": [
        {"client_id": "off-1", "code": world.code(0), "scanned_at": at.isoformat(), "lane": 1,
         "collector": "head", "lines": None},
        {"client_id": "off-2", "code": world.code(0), "scanned_at": (at + datetime.timedelta(minutes=5)).isoformat(),
         "lane": 2},
        {"client_id": "off-3", "code": "RC1:nonsense", "scanned_at": (at + datetime.timedelta(minutes=6)).isoformat()},
    ]}
    resp = post(client, f"/api/v1/events/{world.event.pk}/sync", queue, auth)
    assert resp.status_code == 200
    assert [r["status"] for r in resp.json()["results"]] == ["accepted", "conflict", "rejected"]
    resp = post(client, f"/api/v1/events/{world.event.pk}/sync", queue, auth)
    assert [r["status"] for r in resp.json()["results"]] == ["duplicate"] * 3


ROLE_CAN_SCAN = {"admin": True, "distribution": True, "manager": False, "warehouse": False, "registrar": False,
                 "auditor": False, "outsider": False}
ROLE_CAN_LIST = {**ROLE_CAN_SCAN, "manager": True, "auditor": True}


@pytest.mark.django_db
def test_role_matrix_for_every_endpoint(world):
    event = world.event.pk
    for role in sorted(ROLE_CAN_SCAN):
        client, auth = Client(), bearer(world.users[role])
        listed = client.get("/api/v1/events", **auth)
        assert listed.status_code == (200 if ROLE_CAN_LIST[role] else 403), role
        calls = [
            ("post", "/api/v1/scan/verify", {"code": world.code(0), "event": event}),
            ("post", "/api/v1/scan/redeem", {"code": world.code(0), "event": event, "client_id": f"{role}-1"}),
            ("get", f"/api/v1/events/{event}/manifest", None),
            ("post", f"/api/v1/events/{event}/sync", {"redemptions": []}),
        ]
        for method, url, body in calls:
            resp = post(client, url, body, auth) if method == "post" else client.get(url, **auth)
            if ROLE_CAN_SCAN[role]:
                assert resp.status_code in (200, 201, 409), (role, url, resp.content)
            else:
                assert resp.status_code == 403, (role, url, resp.status_code)
    assert Redemption.objects.count() == 1
    assert Client().get("/api/v1/events").status_code == 401


@pytest.mark.django_db
def test_distribution_team_is_limited_to_its_sites_and_event_tokens_to_their_event(world, users):
    profile = users["distribution"].relief_profile
    profile.sites.set([world.sites["NDU"]])
    client = Client()
    auth = bearer(users["distribution"])
    assert post(client, "/api/v1/scan/verify", {"code": world.code(0), "event": world.event.pk},
                auth).status_code == 403
    assert client.get("/api/v1/events", **auth).json() == []
    other = bearer(users["admin"], event_id=world.event.pk + 1000)
    assert post(client, "/api/v1/scan/verify", {"code": world.code(0), "event": world.event.pk},
                other).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_http_redeems_collect_once(users):
    world = build_world(users, households=1)
    auth = bearer(world.users["distribution"])
    barrier = threading.Barrier(50)
    codes: list[int] = []

    def work():
        try:
            barrier.wait()
            resp = post(Client(), "/api/v1/scan/redeem", {"code": world.code(0), "event": world.event.pk,
                                                          "client_id": str(uuid.uuid4())}, auth)
            codes.append(resp.status_code)
        finally:
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(50)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert sorted(codes) == [201] + [409] * 49
    assert Redemption.objects.count() == 1
