"""Offline sync judged entry by entry, scan times held to the event, batch and issue caps, client ids bound
to their event, user and card (issues 12 and 13)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from relief.distribution import services
from relief.distribution.models import Redemption, SyncIssue
from tests.distribution.test_api import bearer, post


def _entry(world, n, client_id, minutes=5, **extra):
    return {"client_id": client_id, "code": world.code(n), "lane": 1,
            "scanned_at": (timezone.now() - timedelta(minutes=minutes)).isoformat(), **extra}


def _sync(world, entries, user=None):
    client, auth = Client(), bearer(user or world.users["distribution"])
    return post(client, f"/api/v1/events/{world.event.pk}/sync", {"redemptions": entries}, auth)


@pytest.mark.django_db
def test_sync_one_fractional_quantity_does_not_refuse_the_whole_upload(world):
    bad = _entry(world, 1, "frac-1", lines=[{"item": "BLK", "qty": 1.5, "reason": "damaged"}])
    resp = _sync(world, [_entry(world, 0, "ok-1"), bad, _entry(world, 2, "ok-2")])
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "invalid", "accepted"]
    assert results[1]["client_id"] == "frac-1"
    assert results[1]["errors"][0]["field"] == "redemptions.1.lines.0.qty"
    assert "redemptions.1.lines.0.qty" in results[1]["reason"]
    assert sorted(Redemption.objects.values_list("client_id", flat=True)) == ["ok-1", "ok-2"]
    assert not SyncIssue.objects.exists()


@pytest.mark.django_db
def test_sync_entries_that_are_not_objects_or_lack_fields_come_back_invalid(world):
    resp = _sync(world, [42, {"code": world.code(0)}, _entry(world, 2, "ok"), {"client_id": "x", "code": "c",
                                                                                "scanned_at": "yesterday"}])
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["invalid", "invalid", "accepted", "invalid"]
    assert results[0]["client_id"] is None
    assert any(e["field"] == "redemptions.1.client_id" for e in results[1]["errors"])
    assert results[3]["errors"][0]["field"] == "redemptions.3.scanned_at"


@pytest.mark.django_db
@pytest.mark.parametrize("scanned_at", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+03:00", "9999-12-31T23:59:59",
                                        "2001-05-01T10:00:00+03:00"])
def test_sync_scanned_at_outside_the_event_is_invalid_not_500(world, scanned_at):
    resp = _sync(world, [{"client_id": "t-1", "code": world.code(0), "scanned_at": scanned_at},
                         _entry(world, 1, "t-2")])
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["invalid", "accepted"]
    assert results[0]["errors"][0]["field"] == "redemptions.0.scanned_at"
    assert not Redemption.objects.filter(client_id="t-1").exists()
    assert not SyncIssue.objects.exists()


@pytest.mark.django_db
def test_sync_scan_ten_hours_in_the_future_is_refused_one_minute_is_taken(world):
    ahead = (timezone.now() + timedelta(hours=10)).isoformat()
    slight = (timezone.now() + timedelta(minutes=1)).isoformat()
    resp = _sync(world, [{"client_id": "f-1", "code": world.code(0), "scanned_at": ahead},
                         {"client_id": "f-2", "code": world.code(1), "scanned_at": slight}])
    assert [r["status"] for r in resp.json()["results"]] == ["invalid", "accepted"]
    assert "future" in resp.json()["results"][0]["reason"]


@pytest.mark.django_db
def test_sync_batch_beyond_the_cap_is_deferred_not_judged(world, settings):
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "sync_batch": 2}
    resp = _sync(world, [_entry(world, n, f"b-{n}") for n in range(4)])
    assert resp.status_code == 200
    assert [r["status"] for r in resp.json()["results"]] == ["accepted", "accepted", "deferred", "deferred"]
    assert Redemption.objects.count() == 2
    # Sent again, the deferred ones are judged.
    resp = _sync(world, [_entry(world, n, f"b-{n}") for n in (2, 3)])
    assert [r["status"] for r in resp.json()["results"]] == ["accepted", "accepted"]


@pytest.mark.django_db
def test_sync_issues_per_upload_are_rate_limited(world, settings):
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "sync_issues_per_upload": 3}
    junk = [{"client_id": f"j-{n}", "code": f"RC1:junk{n}", "scanned_at": timezone.now().isoformat()}
            for n in range(20)]
    resp = _sync(world, junk)
    statuses = [r["status"] for r in resp.json()["results"]]
    assert statuses.count("rejected") == 3 and statuses.count("deferred") == 17
    assert SyncIssue.objects.count() == 3


@pytest.mark.django_db
def test_redeem_replay_of_a_client_id_with_another_card_is_422_not_that_answer(world):
    client, auth = Client(), bearer(world.users["distribution"])
    body = {"code": world.code(0), "event": world.event.pk, "client_id": "site-a-0001"}
    assert post(client, "/api/v1/scan/redeem", body, auth).status_code == 201
    replay = post(client, "/api/v1/scan/redeem", {**body, "code": world.code(1)}, auth)
    assert replay.status_code == 422
    assert "client_id" in replay.json()["detail"] and "redemption" not in replay.json()
    assert Redemption.objects.count() == 1


@pytest.mark.django_db
def test_redeem_replay_of_a_client_id_by_another_user_is_422(world):
    body = {"code": world.code(0), "event": world.event.pk, "client_id": "site-a-0002"}
    assert post(Client(), "/api/v1/scan/redeem", body, bearer(world.users["distribution"])).status_code == 201
    replay = post(Client(), "/api/v1/scan/redeem", body, bearer(world.users["admin"]))
    assert replay.status_code == 422 and "redemption" not in replay.json()


@pytest.mark.django_db
def test_redeem_replay_of_a_client_id_at_another_event_is_422(world):
    user = world.users["distribution"]
    first = services.redemption_record(code=world.code(0), event=world.event, client_id="ev-bound", user=user)
    assert first.verdict == "redeemed"
    other = services.event_create(cycle=world.cycle, site=world.event.site, name="Second day",
                                  date=world.event.date, lanes=2, user=world.users["admin"], team=[user])
    body = {"code": world.code(0), "event": other.pk, "client_id": "ev-bound"}
    replay = post(Client(), "/api/v1/scan/redeem", body, bearer(user))
    assert replay.status_code == 422 and "client_id" in replay.json()["detail"]


@pytest.mark.django_db
def test_sync_replay_of_another_scans_client_id_is_invalid_not_duplicate(world):
    user = world.users["distribution"]
    services.redemption_record(code=world.code(0), event=world.event, client_id="c-1", user=user)
    resp = _sync(world, [_entry(world, 1, "c-1")])
    result = resp.json()["results"][0]
    assert result["status"] == "invalid" and result["errors"][0]["field"] == "redemptions.0.client_id"
    # The same scan synced after an online redeem whose answer was lost is a plain duplicate.
    again = _sync(world, [_entry(world, 0, "c-1")])
    assert again.json()["results"][0]["status"] == "duplicate"
