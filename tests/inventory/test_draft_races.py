"""A draft saved, or its line edited, while someone submits it: posted once, and as it reads.

Deterministic: the editing side stops just before its write (tests.races.stall_before_write) and the
submit starts only then. Before the fix the edit had checked the status without a lock, so the submit
slipped in and the edit then wrote the stale *draft* status (or a new quantity) over a posted entry.
"""

import threading

import pytest
from django.db.models import Sum

from relief.core.documents import DocStatus, DocumentError
from relief.core.services import document_submit
from relief.inventory.models import StockEntry, StockEntryLine, StockLedgerEntry
from relief.inventory.services import VOUCHER_ENTRY, LineData
from tests.inventory.conftest import draft, receive
from tests.races import run_threads, stall_before_write


def _issue(stock, user, qty=5):
    receive(user, stock.main, stock.blanket, 50)
    return draft(user, "issue", [LineData(item="BLK", qty=qty, source="KGM")], purpose="distribution")


def _posted(entry) -> int:
    return -(StockLedgerEntry.objects.filter(voucher_type=VOUCHER_ENTRY, voucher_no=entry.number)
             .aggregate(q=Sum("qty"))["q"] or 0)


def _edit_while_submitting(edit, model, entry, user, *, delete=False):
    """Run ``edit`` (stalled before its write) and a submit of ``entry`` that starts once the edit is there."""
    reached, submitted = threading.Event(), threading.Event()

    def edit_side():
        with stall_before_write(model, release=submitted, reached=reached, delete=delete):
            return edit()

    def submit_side():
        reached.wait(10)
        try:
            return document_submit(document=StockEntry.objects.get(pk=entry.pk), user=user)
        finally:
            submitted.set()

    return run_threads([edit_side, submit_side])


@pytest.mark.django_db(transaction=True)
def test_a_desk_save_racing_a_submit_never_puts_the_entry_back_to_draft(stock, admin_user):
    entry = _issue(stock, admin_user)
    desk_form = StockEntry.objects.get(pk=entry.pk)  # the change form the desk user opened
    desk_form.remarks = "checked by the storekeeper"

    edited, submitted = _edit_while_submitting(desk_form.save, StockEntry, entry, admin_user)

    assert not isinstance(submitted, Exception), submitted
    entry.refresh_from_db()
    assert entry.status == DocStatus.SUBMITTED
    assert _posted(entry) == 5
    # The save either went in before the submit (and is kept) or was refused after it.
    assert edited is None or isinstance(edited, DocumentError)
    with pytest.raises(DocumentError):
        document_submit(document=entry, user=admin_user)
    assert _posted(entry) == 5


@pytest.mark.django_db(transaction=True)
def test_a_line_edited_while_its_entry_is_submitted_posts_what_the_line_says(stock, admin_user):
    entry = _issue(stock, admin_user)
    line = StockEntryLine.objects.get(entry=entry)
    line.qty = 9

    edited, submitted = _edit_while_submitting(line.save, StockEntryLine, entry, admin_user)

    assert not isinstance(submitted, Exception), submitted
    assert edited is None or isinstance(edited, DocumentError)
    assert _posted(entry) == StockEntryLine.objects.get(entry=entry).qty


@pytest.mark.django_db(transaction=True)
def test_a_line_deleted_while_its_entry_is_submitted_is_refused_or_not_posted(stock, admin_user):
    entry = _issue(stock, admin_user)
    draft_line = StockEntryLine.objects.create(entry=entry, item=stock.blanket, qty=3, source=stock.main)

    deleted, submitted = _edit_while_submitting(draft_line.delete, StockEntryLine, entry, admin_user, delete=True)

    assert deleted is not None  # delete() returns its count, or the refusal
    posted = sum(StockEntryLine.objects.filter(entry=entry).values_list("qty", flat=True))
    if isinstance(submitted, Exception):
        raise submitted
    assert _posted(entry) == posted


@pytest.mark.django_db(transaction=True)
def test_a_draft_save_writes_only_the_fields_it_changed(stock, admin_user):
    entry = _issue(stock, admin_user)
    first, second = StockEntry.objects.get(pk=entry.pk), StockEntry.objects.get(pk=entry.pk)
    first.remarks = "from the first form"
    first.save()
    second.supplier = "from the second form"
    second.save()
    entry.refresh_from_db()
    assert (entry.remarks, entry.supplier) == ("from the first form", "from the second form")
