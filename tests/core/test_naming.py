import threading

import pytest
from django.db import connection, transaction

from relief.core.models import NamingSeries
from relief.core.naming import naming_next, naming_next_many


@pytest.mark.smoke
@pytest.mark.django_db
def test_numbers_follow_each_other_with_padding():
    assert naming_next(series="GRN-2026-") == "GRN-2026-00001"
    assert naming_next(series="GRN-2026-") == "GRN-2026-00002"
    assert naming_next(series="WB-2026-", digits=3) == "WB-2026-001"


@pytest.mark.django_db
def test_rolled_back_number_is_taken_again():
    naming_next(series="X-")
    with pytest.raises(RuntimeError), transaction.atomic():
        naming_next(series="X-")
        raise RuntimeError("document refused")
    assert naming_next(series="X-") == "X-00002"


@pytest.mark.django_db(transaction=True)
def test_concurrent_threads_take_every_number_once_without_gaps():
    threads, per_thread = 12, 8
    taken: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work():
        try:
            barrier.wait()
            for _ in range(per_thread):
                with transaction.atomic():
                    taken.append(naming_next(series="RACE-"))
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
    expected = {f"RACE-{n:05d}" for n in range(1, threads * per_thread + 1)}
    assert sorted(taken) == sorted(expected)
    assert NamingSeries.objects.get(name="RACE-").current == threads * per_thread


@pytest.mark.django_db
def test_a_bulk_take_continues_the_series():
    assert naming_next(series="HH-NYA-", digits=6) == "HH-NYA-000001"
    assert naming_next_many(series="HH-NYA-", count=3, digits=6) == ["HH-NYA-000002", "HH-NYA-000003", "HH-NYA-000004"]
    assert naming_next_many(series="HH-NYA-", count=0) == []
    assert naming_next(series="HH-NYA-", digits=6) == "HH-NYA-000005"
