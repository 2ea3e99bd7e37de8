"""Post-distribution monitoring: a stratified random sample reproducible from its recorded seed, the XLSX
prefilled for the enumerators, answers imported (all or nothing), the summary beside the event report."""

from __future__ import annotations

import io
import uuid

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relief.accountability import selectors, services
from relief.accountability.models import PdmInterview, PdmSample
from relief.distribution import services as distribution

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(users):
    from tests.distribution.conftest import build_world

    world = build_world(users, households=9, sizes=(1, 2, 4, 7))
    for n in range(9):
        distribution.redemption_record(code=world.code(n), event=world.event, client_id=str(uuid.uuid4()),
                                       user=users["distribution"])
    return world


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**62), size=st.integers(min_value=1, max_value=12))
def test_sample_is_reproducible_from_its_seed_and_stratified(served, seed, size):
    first, summary = services.pdm_draw(event=served.event, size=size, seed=seed)
    again, _same = services.pdm_draw(event=served.event, size=size, seed=seed)
    assert first == again
    assert len(first) == min(size, 9) and len({d["household"] for d in first}) == len(first)
    # Each stratum gives its proportional share (within one), and never more than it has.
    for name, counts in summary["strata"].items():
        assert counts["drawn"] <= counts["served"]
        assert abs(counts["drawn"] - len(first) * counts["served"] / summary["population"]) < 1
        assert sum(1 for d in first if d["stratum"] == name) == counts["drawn"]


def test_sample_recorded_with_its_seed_redraws_the_same_households(served):
    sample = services.pdm_sample_create(event=served.event, user=served.users["distribution"], size=4)
    drawn = list(sample.interviews.order_by("position").values_list("household_id", flat=True))
    again, _summary = services.pdm_draw(event=served.event, size=4, seed=sample.seed)
    assert [d["household"] for d in again] == drawn


def test_pdm_page_xlsx_import_and_summary(served):
    client = Client()
    client.force_login(served.users["distribution"])
    assert client.post(f"/pdm/events/{served.event.pk}/", {"size": "5", "seed": "42"}).status_code == 302
    sample = PdmSample.objects.get()
    assert (sample.seed, sample.size, sample.population) == (42, 5, 9)
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/pdm/{sample.number}/sample.xlsx").content))
    rows = list(book["pdm"].iter_rows(values_only=True))
    header, body = list(rows[0]), rows[1:]
    assert header[:3] == ["position", "household", "block"] and len(body) == 5
    numbers = [r[1] for r in body]
    # The enumerators fill the answer columns; the bad file changes nothing.
    answers = [dict(zip(header, r, strict=True)) for r in body]
    for n, a in enumerate(answers):
        a.update(received_all="yes" if n else "no", quality="good", felt_safe="yes", minutes_waited=str(10 * (n + 1)),
                 interview_date="2026-12-01", _uuid=f"pdm-{n}")

    def upload(rows):
        out = openpyxl.Workbook()
        cols = [*header, "_uuid"]
        out.active.append(cols)
        for r in rows:
            out.active.append([r.get(c) for c in cols])
        buffer = io.BytesIO()
        out.save(buffer)
        return SimpleUploadedFile("answers.xlsx", buffer.getvalue())

    bad = [*answers, {**answers[0], "household": "HH-NOPE"}]
    client.post(f"/pdm/{sample.number}/answers/", {"file": upload(bad)})
    assert not PdmInterview.objects.filter(received_all__isnull=False).exists()
    client.post(f"/pdm/{sample.number}/answers/", {"file": upload(answers)})
    assert PdmInterview.objects.filter(received_all__isnull=False).count() == 5
    summary = selectors.pdm_summary(served.event)
    assert (summary["answered"], summary["received_all_pct"], summary["felt_safe_pct"], summary["median_wait"]) == (
        5, 80, 100, 30)
    page = client.get(f"/pdm/events/{served.event.pk}/").content.decode()
    assert sample.number in page and "80 %" in page
    assert set(numbers) == set(PdmInterview.objects.values_list("household__number", flat=True))
