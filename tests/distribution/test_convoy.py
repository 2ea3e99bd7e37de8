"""A convoy manifest of 500 households, 3 of its rows bad: checked first, then all-or-nothing or valid-only."""

from __future__ import annotations

import csv
import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from relief.core.checks import run_integrity_checks
from relief.core.jobs import job_run
from relief.core.models import Job
from relief.distribution import services
from relief.distribution.models import Card, Entitlement
from relief.households import convoy
from relief.households.models import Household
from relief.shelter import services as shelter_services
from relief.shelter.models import Plot
from tests.distribution.conftest import register
from tests.shelter.conftest import make_plot

CONVOY = 500


@pytest.fixture
def convoy_world(world, users):
    admin = users["admin"]
    made = []
    for n in range(CONVOY):
        household = register(admin, world.sites["NYA"], size=1 + n % 3, block=f"B0{1 + n % 3}")
        household.unhcr_group_id = f"TZA-{n:05d}"
        household.save(update_fields=["unhcr_group_id"])
        made.append(household)
    services.cards_issue(households=made, user=admin)
    plan = services.cycle_generation_plan(cycle=world.cycle)
    services.cycle_generate(cycle=world.cycle, user=admin, digest=plan.digest)
    for household in made[:10]:
        shelter_services.plot_allocate(user=admin, plot=make_plot(world.sites["NYA"]), household=household)
    return made


def manifest(path, households, *, bad: bool = True):
    day = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["household", "unhcr_id", "date", "reason", "note"])
        for n, household in enumerate(households[:-3] if bad else households):
            # Half by household number, half by UNHCR id, as field teams send them.
            if n % 2:
                writer.writerow(["", household.unhcr_group_id, day, "returned", "convoy 7"])
            else:
                writer.writerow([household.number, "", day, "returned", "convoy 7"])
        if bad:
            writer.writerow(["HH-NYA-999999", "", day, "returned", ""])        # unknown household
            writer.writerow([households[0].number, "", day, "returned", ""])  # twice in the manifest
            writer.writerow([households[-1].number, "", "2999-01-01", "holiday", ""])  # future date, bad reason
    return path


@pytest.mark.django_db
def test_a_convoy_of_500_with_3_bad_rows(world, users, convoy_world, tmp_path):
    admin = users["admin"]
    path = manifest(tmp_path / "convoy.csv", convoy_world)

    checked = convoy.run_convoy(path=path, user=admin, site_ids=None, dry_run=True)
    assert (checked.rows, checked.valid, checked.committed) == (CONVOY, CONVOY - 3, False)
    rows = {(row, column) for row, column, _m in checked.problems}
    assert rows == {(CONVOY - 1, "household"), (CONVOY, "household"), (CONVOY + 1, "date"), (CONVOY + 1, "reason")}

    # All or nothing: nothing moves.
    refused = convoy.run_convoy(path=path, user=admin, site_ids=None, mode="all")
    assert not refused.committed
    assert Household.objects.filter(status="departed").count() == 0

    done = convoy.run_convoy(path=path, user=admin, site_ids=None, mode="valid")
    assert done.committed and done.processed == CONVOY - 3 and done.by_reason == {"returned": CONVOY - 3}
    gone = convoy_world[:-3]
    assert Household.objects.filter(pk__in=[h.pk for h in gone], status="departed", exit_reason="returned").count() \
        == CONVOY - 3
    assert not Card.objects.filter(household__in=gone, status="active").exists()
    assert not Entitlement.objects.filter(household__in=gone, status__in=["open", "owed"]).exists()
    assert Plot.objects.filter(status="allocated").count() == 0
    assert Card.objects.filter(household__in=convoy_world[-3:], status="active").count() == 3
    assert run_integrity_checks() == []
    # The report names each row's outcome; a manifest's text never becomes a formula there.
    book = openpyxl.load_workbook(convoy.files_dir() / done.report, read_only=True)
    outcomes = [r[3] for r in book[book.sheetnames[0]].iter_rows(min_row=2, values_only=True)]
    assert outcomes.count("done") == CONVOY - 3 and len(outcomes) == CONVOY


@pytest.mark.django_db
def test_convoy_page_checks_then_carries_out_as_a_job(client, world, users, tmp_path):
    households = world.households[:4]
    for n, household in enumerate(households):
        Household.objects.filter(pk=household.pk).update(unhcr_group_id=f"TZA-P{n}")
        household.unhcr_group_id = f"TZA-P{n}"
    path = manifest(tmp_path / "convoy.csv", households, bad=False)
    with path.open("a", newline="") as out:
        csv.writer(out).writerow(["=cmd|' /C calc'!A0", "", "2026-01-01", "returned", ""])
    client.force_login(users["registrar"])
    with path.open("rb") as handle:
        response = client.post(reverse("households:convoy"), {"file": handle})
    assert response.status_code == 302
    job = Job.objects.order_by("-created_at").first()
    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.result["valid"] == 4 and job.result["problems"] == 1
    page = client.get(reverse("households:convoy-review", args=[job.pk])).content.decode()
    assert 'id="convoy-button"' in page and "no such household" in page
    client.post(reverse("households:convoy-review", args=[job.pk]), {"mode": "valid"})
    done = Job.objects.order_by("-created_at").first()
    job_run(str(done.pk))
    done.refresh_from_db()
    assert done.kind == "households-convoy" and done.result["processed"] == 4
    assert Household.objects.filter(pk__in=[h.pk for h in households], status="departed").count() == 4
    report = client.get(reverse("households:convoy-report", args=[done.pk]))
    assert report.status_code == 200
    book = openpyxl.load_workbook(filename=io.BytesIO(b"".join(report.streaming_content)))
    cells = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row]
    assert "'=cmd|' /C calc'!A0" in cells
    # An Administrator reads any convoy; another role none.
    client.force_login(users["admin"])
    assert client.get(reverse("households:convoy-review", args=[done.pk])).status_code == 200
    client.force_login(users["distribution"])
    assert client.get(reverse("households:convoy-review", args=[done.pk])).status_code == 403
