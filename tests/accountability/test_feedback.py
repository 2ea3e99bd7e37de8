"""The feedback desk end to end against MariaDB: taken at the table, worked to closure, sensitive cases hidden
from everyone not named, non-receipt resolved by a hand-over, Kobo import, overdue on the desk home page."""

from __future__ import annotations

import datetime
import io
import uuid

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from relief.accountability import services
from relief.accountability.models import CaseStatus, FeedbackCase
from relief.core.models import StaffProfile
from relief.distribution import services as distribution

pytestmark = pytest.mark.django_db
ROLES = ["admin", "manager", "warehouse", "distribution", "registrar", "auditor", "outsider"]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _scope(world) -> None:
    """Site-scoped roles work at Nyarugusu."""
    for name in ("distribution", "registrar"):
        profile, _made = StaffProfile.objects.get_or_create(user=world.users[name])
        profile.sites.add(world.sites["NYA"])


def test_case_taken_at_the_table_is_worked_to_closure(world):
    _scope(world)
    household = world.households[0]
    table = _client(world.users["distribution"])
    link = f"/feedback/new/?channel=table&event={world.event.pk}&household={household.number}"
    page = table.get(link)
    assert page.status_code == 200 and household.number in page.content.decode()
    response = table.post("/feedback/new/", {
        "category": "complaint", "subject": "damaged", "channel": "table", "household": household.number,
        "event": str(world.event.pk), "item": "JRC", "description": "The jerrycan leaks."})
    case = FeedbackCase.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/feedback/{case.number}/")
    assert (case.site, case.channel, case.item.code, case.status) == (world.sites["NYA"], "table", "JRC", "open")
    assert case.due_on == timezone.localdate() + datetime.timedelta(days=7)
    # The table may read but not work the case.
    assert table.post(f"/feedback/{case.number}/", {"action": "answer", "answer": "x"}).status_code == 403
    desk = _client(world.users["registrar"])
    for body in ({"action": "assign", "assignee": "manager"}, {"action": "refer", "referred_to": "WASH partner"},
                 {"action": "answer", "answer": "A new jerrycan at the next distribution."}):
        assert desk.post(f"/feedback/{case.number}/", body).status_code == 302
    case.refresh_from_db()
    assert (case.status, case.assigned_to.username, case.referred_to) == ("answered", "manager", "WASH partner")
    assert desk.post(f"/feedback/{case.number}/", {"action": "close"}).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.closed_by == world.users["registrar"]
    assert case.history.count() == 5
    # Closed is closed: nothing changes it any more.
    with pytest.raises(ValidationError):
        services.case_answer(case=case, user=world.users["admin"], answer="again")
    # The household's page lists it.
    page = _client(world.users["registrar"]).get(f"/households/{household.number}/").content.decode()
    assert case.number in page


def test_bad_input_names_the_field_and_records_nothing(world):
    client = _client(world.users["registrar"])
    response = client.post("/feedback/new/", {"category": "gossip", "description": "", "household": "HH-NOPE"})
    assert response.status_code == 200 and FeedbackCase.objects.count() == 0
    text = response.content.decode()
    assert "category" in text
    api = client.post("/api/v1/accountability/feedback", {"category": "complaint", "description": "x",
                                                          "household": "HH-NOPE"}, content_type="application/json")
    assert api.status_code == 422 and "household" in api.json()["detail"]
    assert FeedbackCase.objects.count() == 0


def test_sensitive_case_is_hidden_from_everyone_not_named(world):
    _scope(world)
    case = services.case_open(user=world.users["distribution"], category="complaint", subject="conduct",
                              description="A volunteer asked for money.", channel="table",
                              refs=services.CaseRefs(household=world.households[1].number, event=world.event.pk))
    assert case.sensitive  # conduct is always sensitive
    seen = {}
    for role in ROLES:
        client = _client(world.users[role])
        page = client.get(f"/feedback/{case.number}/").status_code
        api = client.get(f"/api/v1/accountability/feedback/{case.number}").status_code
        listed = case.number in client.get("/feedback/?status=all").content.decode()
        api_list = client.get("/api/v1/accountability/feedback?status=all")
        in_api_list = api_list.status_code == 200 and case.number in api_list.content.decode()
        desk = client.get("/desk/accountability/feedbackcase/")
        in_desk = desk.status_code == 200 and case.number in desk.content.decode()
        household_page = client.get(f"/households/{world.households[1].number}/").content.decode()
        history = client.get(f"/desk/accountability/feedbackcase/{case.pk}/history/").status_code
        seen[role] = (page, api, listed, in_api_list, in_desk, case.number in household_page, history == 200)
    assert seen["admin"] == (200, 200, True, True, True, False, True)
    for role in ROLES[1:]:
        assert seen[role][0] in (403, 404) and seen[role][1] in (403, 404), role
        assert not any(seen[role][2:]), role
    # Named: the person it is assigned to sees it (and only that case).
    services.case_assign(case=case, user=world.users["admin"], assignee=world.users["registrar"])
    assert _client(world.users["registrar"]).get(f"/feedback/{case.number}/").status_code == 200
    assert _client(world.users["manager"]).get(f"/feedback/{case.number}/").status_code == 404


def test_non_receipt_complaint_is_resolved_by_the_hand_over_that_references_it(world):
    _scope(world)
    household = world.households[2]
    case = services.case_open(user=world.users["registrar"], category="complaint", subject="non_receipt",
                              description="Not on the list; no kit.", refs=services.CaseRefs(
                                  household=household.number, event=world.event.pk, item="BLK"))
    other = distribution.redemption_record(code=world.code(0), event=world.event, client_id=str(uuid.uuid4()),
                                           user=world.users["distribution"])
    with pytest.raises(ValidationError) as caught:
        services.case_resolve_by_handover(case=case, user=world.users["registrar"],
                                          redemption=world.event.redemptions.get(pk=other.redemption["id"]))
    assert "redemption" in caught.value.message_dict
    mine = distribution.redemption_record(code=world.code(2), event=world.event, client_id=str(uuid.uuid4()),
                                          user=world.users["distribution"])
    client = _client(world.users["registrar"])
    page = client.get(f"/feedback/{case.number}/").content.decode()
    assert f"RDM-{mine.redemption['id']}" in page
    client.post(f"/feedback/{case.number}/", {"action": "resolve", "redemption": mine.redemption["id"]})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.resolved_by_id == mine.redemption["id"]
    assert "RDM-" in case.answer


def _kobo_xlsx(rows: list[list]) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("feedback.xlsx", buffer.getvalue())


def test_kobo_feedback_import_is_all_or_nothing_and_idempotent(world):
    household = world.households[0].number
    header = ["feedback/category", "feedback/subject", "feedback/description", "feedback/household", "_uuid",
              "_submission_time"]
    good = [["question", "eligibility", "When is the next round?", household, "u-1", "2026-11-30T08:00:00"],
            ["appreciation", "", "Thank you", "", "u-2", ""]]
    client = _client(world.users["registrar"])
    bad = client.post("/feedback/import/", {"file": _kobo_xlsx([header, *good,
                                                                ["gossip", "", "", "HH-NOPE", "u-3", ""]])})
    text = bad.content.decode()
    assert bad.status_code == 200 and FeedbackCase.objects.count() == 0
    assert "Row 4: category" in text and "Row 4: household" in text
    assert client.post("/feedback/import/", {"file": _kobo_xlsx([header, *good])}).status_code == 302
    assert client.post("/feedback/import/", {"file": _kobo_xlsx([header, *good])}).status_code == 302
    cases = FeedbackCase.objects.order_by("kobo_uuid")
    assert [c.kobo_uuid for c in cases] == ["u-1", "u-2"] and {c.channel for c in cases} == {"kobo"}
    assert cases[0].household.number == household and cases[0].due_on == datetime.date(2026, 12, 3)


def test_overdue_cases_on_the_desk_home_page(world):
    services.case_open(user=world.users["registrar"], category="question", description="When?",
                       received_at=timezone.now() - datetime.timedelta(days=10),
                       refs=services.CaseRefs(household=world.households[0].number))
    home = _client(world.users["manager"]).get("/desk/").content.decode()
    assert "Overdue feedback cases" in home and "/feedback/?overdue=1" in home
    assert "Overdue feedback cases" not in _client(world.users["warehouse"]).get("/desk/").content.decode()
    listed = _client(world.users["manager"]).get("/feedback/?overdue=1").content.decode()
    assert "overdue" in listed


def test_scanning_page_offers_the_feedback_link(world):
    page = _client(world.users["distribution"]).get("/scan/").content.decode()
    assert 'id="feedback"' in page and "/feedback/new/" in page


def test_kobo_upload_beyond_the_site_limits_is_refused_naming_the_limit(world, settings):
    client = _client(world.users["registrar"])
    text = client.post("/feedback/import/", {"file": SimpleUploadedFile("x.txt", b"hello")}).content.decode()
    assert "upload an .xlsx or .csv export" in text
    settings.RELIEF_LIMITS = {**settings.RELIEF_LIMITS, "upload_rows": 1}
    rows = b"category,description,_uuid\nquestion,a,u-1\nquestion,b,u-2\n"
    text = client.post("/feedback/import/", {"file": SimpleUploadedFile("f.csv", rows)}).content.decode()
    assert "upload_rows" in text and FeedbackCase.objects.count() == 0


def test_the_api_works_a_case_through_the_same_services(world):
    case = services.case_open(user=world.users["registrar"], category="request", subject="shelter",
                              description="A plot near the water point.",
                              refs=services.CaseRefs(household=world.households[0].number))
    api = _client(world.users["manager"])
    url = f"/api/v1/accountability/feedback/{case.number}/actions"
    bad = api.post(url, {"action": "refer", "referred_to": ""}, content_type="application/json")
    assert bad.status_code == 422 and "referred_to" in bad.json()["detail"]
    for body in ({"action": "assign", "assignee": "registrar"}, {"action": "refer", "referred_to": "Shelter team"},
                 {"action": "close", "answer": "Added to the waiting list."}):
        assert api.post(url, body, content_type="application/json").status_code == 200
    got = api.get(f"/api/v1/accountability/feedback/{case.number}").json()
    assert got["status"] == "closed"
    assert _client(world.users["distribution"]).post(url, {"action": "close"},
                                                     content_type="application/json").status_code == 403
