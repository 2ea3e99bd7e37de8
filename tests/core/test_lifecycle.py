import pytest

from relief.core import services
from relief.core.documents import DocStatus, DocumentError, DocumentLocked
from tests.lifecycle_app.models import Counter, Voucher, VoucherLine


@pytest.fixture
def draft(db, users):
    Counter.objects.create(name="blankets")
    voucher = Voucher.objects.create(created_by=users["admin"])
    VoucherLine.objects.create(voucher=voucher, counter="blankets", qty=5)
    return voucher


def counter() -> int:
    return Counter.objects.get(name="blankets").value


@pytest.mark.smoke
def test_submit_posts_and_locks_the_document(draft, users):
    assert draft.number.startswith("VCH-") and draft.status == DocStatus.DRAFT
    submitted = services.document_submit(document=draft, user=users["admin"])
    assert submitted.status == DocStatus.SUBMITTED
    assert submitted.submitted_by == users["admin"] and submitted.submitted_at is not None
    assert counter() == 5
    submitted.note = "edited"
    with pytest.raises(DocumentLocked):
        submitted.save()
    with pytest.raises(DocumentLocked):
        submitted.delete()
    line = submitted.lines.get()
    line.qty = 50
    with pytest.raises(DocumentLocked):
        line.save()
    with pytest.raises(DocumentLocked):
        line.delete()
    assert Voucher.objects.get(pk=draft.pk).note == ""


def test_a_refused_submit_keeps_the_draft_and_posts_nothing(draft, users):
    draft.note = "refuse"
    draft.save()
    with pytest.raises(ValueError, match="refused by the hook"):
        services.document_submit(document=draft, user=users["admin"])
    assert Voucher.objects.get(pk=draft.pk).status == DocStatus.DRAFT
    assert counter() == 0


def test_cancel_runs_the_reversal_and_keeps_the_document(draft, users):
    submitted = services.document_submit(document=draft, user=users["admin"])
    cancelled = services.document_cancel(document=submitted, user=users["manager"], reason="wrong warehouse")
    assert cancelled.status == DocStatus.CANCELLED and cancelled.cancel_reason == "wrong warehouse"
    assert counter() == 0
    assert Voucher.objects.filter(pk=draft.pk).exists()
    with pytest.raises(DocumentError, match="only a submitted document can be cancelled"):
        services.document_cancel(document=cancelled, user=users["admin"], reason="entered by mistake")
    with pytest.raises(DocumentError, match="only a draft can be submitted"):
        services.document_submit(document=cancelled, user=users["admin"])


def test_a_draft_can_be_edited_and_deleted(draft):
    draft.note = "fine"
    draft.save()
    draft.lines.get().delete()
    draft.delete()
    assert not Voucher.objects.exists()


def test_every_change_is_in_the_audit_trail(draft, users):
    services.document_submit(document=draft, user=users["admin"])
    history = list(Voucher.history.filter(id=draft.pk).order_by("history_date"))
    assert [h.status for h in history] == ["draft", "submitted"]
    assert history[-1].history_type == "~"
    assert history[0].history_type == "+"


def test_desk_shows_a_submitted_document_read_only(draft, users, client):
    from django.contrib import admin

    from relief.core.admin import DocumentAdmin

    model_admin = DocumentAdmin(Voucher, admin.site)
    services.document_submit(document=draft, user=users["admin"])
    submitted = Voucher.objects.get(pk=draft.pk)

    class Request:
        user = users["admin"]

    assert "note" in model_admin.get_readonly_fields(Request, submitted)
    assert "note" not in model_admin.get_readonly_fields(Request, draft)
    assert model_admin.has_delete_permission(Request, submitted) is False
