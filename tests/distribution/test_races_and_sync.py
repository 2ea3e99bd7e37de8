"""Exactly one collection under races; offline sync with duplicates and a two-device conflict."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from relief.distribution import services
from relief.distribution.models import Redemption, RedemptionLine, SyncIssue
from relief.inventory.models import StockLedgerEntry
from tests.distribution.conftest import build_world


def _issued_rows(world):
    return StockLedgerEntry.objects.filter(warehouse=world.points["NYA"], voucher_type="redemption")


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_redeems_of_one_card_collect_once(users):
    world = build_world(users, households=2)
    threads = 50
    barrier = threading.Barrier(threads)
    verdicts: list[str] = []
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            result = services.redemption_record(code=world.code(1), event=world.event, client_id=str(uuid.uuid4()),
                                                user=world.users["distribution"])
            verdicts.append(result.verdict)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    assert sorted(set(verdicts)) == ["already_collected", "redeemed"]
    assert verdicts.count("redeemed") == 1
    assert Redemption.objects.count() == 1
    # Size 2: 2 blankets, 1 net, 1 jerrycan — issued once.
    assert sorted(_issued_rows(world).values_list("qty", flat=True)) == [-2, -1, -1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_client_id_give_one_answer(users):
    world = build_world(users, households=1)
    threads = 12
    barrier = threading.Barrier(threads)
    ids: list[int] = []

    def work():
        try:
            barrier.wait()
            result = services.redemption_record(code=world.code(0), event=world.event, client_id="lane2-0042",
                                                user=world.users["distribution"])
            ids.append(result.redemption["id"])
        finally:
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert len(ids) == threads and len(set(ids)) == 1
    assert Redemption.objects.count() == 1


def _scan(world, n, client_id, minutes, lane=1):
    return services.OfflineScan(client_id=client_id, code=world.code(n), lane=lane,
                                scanned_at=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.django_db
def test_offline_sync_accepts_once_reports_duplicates_and_conflicts(world):
    user = world.users["distribution"]
    device_a = [_scan(world, 0, "A-1", 30), _scan(world, 1, "A-2", 25)]
    first = services.event_sync(event=world.event, scans=device_a, user=user)
    assert [r["status"] for r in first] == ["accepted", "accepted"]
    # Device A lost the answer and sends its queue again.
    again = services.event_sync(event=world.event, scans=device_a, user=user)
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    # Device B, offline too, served household 1 again (later) and household 2.
    device_b = [_scan(world, 1, "B-1", 20, lane=2), _scan(world, 2, "B-2", 10, lane=2),
                services.OfflineScan(client_id="B-3", code="RC1:broken", scanned_at=timezone.now())]
    second = services.event_sync(event=world.event, scans=device_b, user=user)
    assert [r["status"] for r in second] == ["conflict", "accepted", "rejected"]
    assert second[0]["standing"]["lane"] == 1
    assert second[2]["reason"] == "invalid:unreadable"
    conflict = SyncIssue.objects.get(client_id="B-1")
    assert conflict.kind == "conflict" and conflict.standing.client_id == "A-2"
    # Stock left the point once per household.
    assert Redemption.objects.count() == 3
    assert _issued_rows(world).filter(voucher_no=f"RDM-{conflict.standing_id}").count() == 3
    assert services.event_sync(event=world.event, scans=device_b[:1], user=user)[0]["status"] == "duplicate"
    assert RedemptionLine.objects.count() == 9


@pytest.mark.django_db
def test_within_one_batch_the_first_by_time_stands(world):
    late, early = _scan(world, 0, "L", 1, lane=3), _scan(world, 0, "E", 40, lane=2)
    results = services.event_sync(event=world.event, scans=[late, early], user=world.users["distribution"])
    assert [r["status"] for r in results] == ["conflict", "accepted"]
    assert Redemption.objects.get().client_id == "E"
