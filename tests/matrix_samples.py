"""Real objects from the demo data to put in every URL of the role matrix (tests/test_url_matrix.py).

Every sample lies inside the scope of the demo users, so a refusal in the matrix is about the role and
never about the warehouse or site: the `warehouse` user staffs KGM-MAIN, NYA-FW and NYA-DP1; the
`distribution` and `registrar` users work in every site. Objects the demo does not make (a count sheet,
a cancelled transfer, jobs, a sync issue, a duplicate pair, an alternate collector, an ended allocation)
are made here through the services, as a user would.
"""

from __future__ import annotations

import datetime
import io
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

NYA = "NYA"
PASSWORD = "test-pass-123"
ROLES = ("anonymous", "outsider", "admin", "manager", "warehouse", "distribution", "registrar", "auditor")


@contextmanager
def demo_data(django_db_blocker):
    """The demo (12 households), one user per role and the samples, for a module's tests.

    Loaded in a transaction rolled back when the module is done; each test's own transaction nests
    inside it (a savepoint), so the tests share the data and leave nothing behind for the rest of the suite.
    """
    from relief.core.demo import demo_load
    from relief.core.roles import sync_role_permissions

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        # The module's wrapping transaction, like a test's: each request's services are checked on their own.
        outer._from_testcase = True
        outer.__enter__()
        # The demo and the samples run service after service inside this one transaction (a seeding run,
        # alone on its database): the lock-order check is for services, each in its own transaction.
        seeding = override_settings(RELIEF_LOCK_ORDER_CHECK=False)
        seeding.enable()
        try:
            sync_role_permissions()
            demo_load(households=12, password=PASSWORD, stdout=io.StringIO())
            users = {name: User.objects.get(username=name) for name in ROLES[2:]}
            users["outsider"] = User.objects.create_user(username="outsider", password=PASSWORD, is_staff=True)
            samples = build(users)
        except BaseException as exc:
            transaction.set_rollback(True)
            outer.__exit__(type(exc), exc, exc.__traceback__)
            raise
        finally:
            seeding.disable()
    try:
        yield users, samples
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def build(users: dict[str, User]) -> dict[str, str]:
    """Placeholder name → value for the URL templates and request bodies of the matrix."""
    from relief.core.jobs import job_start
    from relief.core.services import document_cancel, document_submit
    from relief.distribution import services as distribution
    from relief.distribution.models import Card, DistributionCycle, DistributionEvent, SyncIssue
    from relief.households import convoy
    from relief.households import services as households
    from relief.households.importer import files_dir
    from relief.households.models import DuplicateCandidate, Household
    from relief.inventory import services as inventory
    from relief.inventory.models import StockEntry, Warehouse, Waybill
    from relief.replenishment.models import ReplenishmentPlan
    from relief.shelter import services as shelter
    from relief.shelter.models import Allocation, AllocationPlan, Plot

    admin, registrar = users["admin"], users["registrar"]

    # Registry: an active Nyarugusu household with a card, a plot and an alternate collector.
    household = (Household.objects.filter(site__code=NYA, status="active", allocations__ended_at__isnull=True)
                 .order_by("number").first())
    head = household.members.get(is_head=True, active=True)
    collector = households.collector_add(user=registrar, household=household,
                                         fields={"name": "Collector Sample", "relationship": "neighbour"})
    others = list(Household.objects.filter(site__code=NYA, status="active").exclude(pk=household.pk)
                  .order_by("pk")[:2])
    pair = sorted(h.pk for h in others)
    candidate, _made = DuplicateCandidate.objects.get_or_create(
        household_a_id=pair[0], household_b_id=pair[1], defaults={"score": 0.9, "reasons": {"name": 0.9}})

    # Stock: a submitted transfer NYA-FW → NYA-DP1 and its received waybill; a transfer submitted and then
    # cancelled (so submitting or cancelling it again changes nothing); a count sheet at NYA-FW.
    entry = (StockEntry.objects.filter(entry_type="transfer", status="submitted", lines__source__code="NYA-FW",
                                       lines__target__code="NYA-DP1").order_by("pk").first())
    waybill = Waybill.objects.get(entry=entry)
    line = entry.lines.select_related("item").first()
    cancelled = inventory.stock_entry_create(
        entry_type="transfer", user=admin,
        lines=[inventory.LineData(item=line.item.code, qty=1, source="NYA-FW", target="NYA-DP1")])
    cancelled = document_submit(document=cancelled, user=admin)
    document_cancel(document=cancelled, user=admin, reason="matrix sample")
    count = inventory.count_sheet_create(warehouse=Warehouse.objects.get(code="NYA-FW"), user=admin)

    # Distribution: the Nyarugusu event, its cycle, and a sync issue from an unreadable offline scan.
    event = DistributionEvent.objects.filter(site__code=NYA, status="open").order_by("pk").first()
    distribution.event_sync(event=event, user=users["distribution"], scans=[distribution.OfflineScan(
        client_id=str(uuid.uuid4()), code="not-a-card", scanned_at=timezone.now())])
    issue = SyncIssue.objects.filter(event=event).latest("pk")
    cycle = DistributionCycle.objects.order_by("pk").first()

    # Shelter: a plot with a household on it, the demo's plan, and an allocation already ended.
    plot = Plot.objects.filter(site__code=NYA, status="allocated").order_by("code").first()
    plan = AllocationPlan.objects.filter(site__code=NYA).order_by("pk").first()
    ended = Allocation.objects.filter(plot__site__code=NYA, ended_at__isnull=True).exclude(
        household=household).order_by("pk").first()
    shelter.allocation_end(user=admin, allocation=ended, reason="error", note="matrix sample")

    rplan = ReplenishmentPlan.objects.order_by("pk").first()

    # Accountability: the demo's cases at Nyarugusu (one not sensitive), its PDM sample, a grant's code.
    from urllib.parse import quote

    from relief.accountability.models import FeedbackCase, PdmSample
    from relief.inventory.models import Grant

    case = FeedbackCase.objects.filter(sensitive=False, site__code=NYA).order_by("pk").first()
    pdm = PdmSample.objects.filter(event=event).order_by("pk").first()
    grant = Grant.objects.order_by("pk").first()
    from relief.replenishment.models import PurchaseRequest

    pr = PurchaseRequest.objects.filter(status="submitted").exclude(supplier="").order_by("pk").first()

    # Jobs, each with its owner; the files their download pages serve.
    job = job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 1},
                    user=users["warehouse"], queue="short")
    import_job = job_start(kind="households-import-check", function="relief.households.jobs.import_job",
                           arguments={"file": "none.csv", "mapping": "plain_example", "mode": "all",
                                      "dry_run": True, "default_site": None}, user=registrar, queue="long")
    report = f"{import_job.pk}-problems.xlsx"
    (files_dir() / report).write_bytes(_empty_xlsx())
    import_job.result_file = report
    import_job.save(update_fields=["result_file"])
    convoy_job = job_start(kind="households-convoy-check", function="relief.households.jobs.convoy_job",
                           arguments={"file": "none.csv", "mode": "all", "dry_run": True}, user=registrar,
                           queue="long")
    convoy_report = f"{convoy_job.pk}-convoy.xlsx"
    (convoy.files_dir() / convoy_report).write_bytes(_empty_xlsx())
    convoy_job.result_file = convoy_report
    convoy_job.save(update_fields=["result_file"])
    cards_job = job_start(kind="print-cards", function="relief.distribution.printing.print_cards_job",
                          arguments={"site": NYA}, user=registrar, queue="long")
    cards = Path(settings.MEDIA_ROOT) / "cards" / f"{cards_job.pk}.pdf"
    cards.parent.mkdir(parents=True, exist_ok=True)
    cards.write_bytes(b"%PDF-1.4\n%%EOF\n")

    return {
        "household": household.number, "member": str(head.pk), "collector": str(collector.pk),
        "candidate": str(candidate.pk), "entry": entry.number, "entry_cancelled": cancelled.number,
        "waybill": waybill.number, "count": str(count.pk), "warehouse": "NYA-FW", "item": line.item.code,
        "event": str(event.pk), "issue": str(issue.pk),
        "card": Card.objects.filter(household=household, status="active").values_list("serial", flat=True).get(),
        "cycle": str(cycle.pk), "site": NYA,
        "plot": plot.code, "plan": plan.number, "allocation_ended": ended.number, "rplan": rplan.number,
        "case": case.number, "pdm": pdm.number, "grant": quote(grant.code, safe=""),
        "pr": pr.number,
        "job": str(job.pk), "import_job": str(import_job.pk),
        "convoy_job": str(convoy_job.pk), "cards_job": str(cards_job.pk),
        "today": timezone.localdate().isoformat(), "auditor_password": PASSWORD,
        "yesterday": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
    }


def _empty_xlsx() -> bytes:
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()
