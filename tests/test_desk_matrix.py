"""The desk (/desk/) is a front door like any other: every ModelAdmin × every role × every kind of request,
in and out of the user's sites and warehouses, through a browser-like session that must send its CSRF token.

``DESK`` has one row per registered ModelAdmin, with the roles that may read (list, open, history), change
and delete it and run each of its list actions, built from the role sets of the URL matrix
(tests/test_url_matrix.py), which follow README "Who does what" and each package's ``access.py``. A new
admin or a new action with no row fails ``test_every_desk_admin_and_action_has_a_row``.

Each request runs in a savepoint rolled back afterwards, so an allowed action (a submit, a revocation) leaves
nothing behind for the next one; before the rollback every refused write is checked to have changed nothing
(row counts of the model, the sample's stored values, the ledger sum). The seven cases of issue 11 are
regression tests at the end, on the same shared data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import models, transaction
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import matrix_samples
from tests.test_url_matrix import (
    ADMIN,
    CANCELLERS,
    CARDS,
    CYCLES,
    EVENTS_READ,
    PERSONAL,
    PLAN_VIEWERS,
    PLANNERS,
    SCAN,
    SHELTER_READ,
    SHELTER_WRITE,
    STOCK_POSTERS,
    STOCK_READERS,
)

ROLES = ("admin", "manager", "warehouse", "distribution", "registrar", "auditor", "outsider")
NOBODY: frozenset[str] = frozenset()
STAFF = frozenset(ROLES) - {"outsider"}
# Model permissions a role holds but the README does not let it use in the desk are narrowed by the admins.
AUDIT = frozenset({"admin", "auditor"})
STOCK_MASTER = frozenset({"admin", "manager"})
STOCK_DESK_READERS = STOCK_READERS - {"distribution"}
# Roles limited to their sites or warehouses: the ones the out-of-scope sample must be hidden from.
SCOPED = frozenset({"warehouse", "distribution", "registrar"})


@dataclass(frozen=True)
class Desk:
    read: frozenset[str]
    change: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY
    actions: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Roles that must not see the out-of-scope sample (it lies in another site or warehouse).
    hidden_from: frozenset[str] = NOBODY


def desk(read, change=NOBODY, delete=NOBODY, actions=None, hidden_from=NOBODY) -> Desk:
    return Desk(frozenset(read), frozenset(change), frozenset(delete), dict(actions or {}), frozenset(hidden_from))


DESK: dict[str, Desk] = {
    # --- core: master data for Administrators; users, roles, tokens and login logs for Administrators only ---
    "core.site": desk(STAFF, ADMIN, ADMIN),
    "core.block": desk(STAFF - {"warehouse"}, ADMIN, ADMIN),
    "auth.user": desk(ADMIN, ADMIN, ADMIN),
    "auth.group": desk(ADMIN, ADMIN, ADMIN),
    "core.apitoken": desk(ADMIN, ADMIN, ADMIN, {"revoke": ADMIN}),
    # A job is for who started it; the samples' jobs belong to the admin.
    "core.job": desk(ADMIN, NOBODY, ADMIN),  # the job page is for who started it; the desk list for Administrators
    "core.accesslog": desk(AUDIT),
    # Every field is read-only on these: the change permission shows the page, and nothing can be typed in.
    "core.namingseries": desk(AUDIT, ADMIN),
    "axes.accessattempt": desk(ADMIN, ADMIN, ADMIN),
    "axes.accesslog": desk(ADMIN, ADMIN, ADMIN),
    "axes.accessfailurelog": desk(ADMIN, ADMIN, ADMIN),
    # --- inventory ---------------------------------------------------------------------------------------------
    "inventory.warehouse": desk(STOCK_READERS, STOCK_MASTER, STOCK_MASTER, hidden_from={"warehouse", "distribution"}),
    "inventory.item": desk(STOCK_READERS, STOCK_MASTER, STOCK_MASTER),
    "inventory.kit": desk(STOCK_DESK_READERS, STOCK_MASTER, STOCK_MASTER),
    "inventory.donor": desk(STOCK_DESK_READERS, STOCK_MASTER, STOCK_MASTER),
    "inventory.grant": desk(STOCK_DESK_READERS, STOCK_MASTER, STOCK_MASTER),
    "inventory.lot": desk(STOCK_READERS),
    "inventory.bin": desk(STOCK_READERS, hidden_from={"warehouse", "distribution"}),
    "inventory.stockledgerentry": desk(STOCK_DESK_READERS, hidden_from={"warehouse"}),
    "inventory.reservation": desk(STOCK_DESK_READERS, hidden_from={"warehouse"}),
    "inventory.reorderlevel": desk(STOCK_DESK_READERS, STOCK_MASTER, STOCK_MASTER, hidden_from={"warehouse"}),
    "inventory.stockentry": desk(STOCK_DESK_READERS, STOCK_POSTERS, STOCK_POSTERS,
                                 {"submit_selected": STOCK_POSTERS}, hidden_from={"warehouse"}),
    "inventory.waybill": desk(STOCK_DESK_READERS, STOCK_POSTERS, NOBODY, {"cancel_receipt": CANCELLERS},
                              hidden_from={"warehouse"}),
    "inventory.physicalcount": desk(STOCK_DESK_READERS, STOCK_POSTERS, STOCK_POSTERS,
                                    {"submit_selected": STOCK_POSTERS}, hidden_from={"warehouse"}),
    # --- households: personal records for the personal roles, in their sites; read-only in the desk -------------
    "households.household": desk(PERSONAL, hidden_from={"registrar"}),
    "households.member": desk(PERSONAL, hidden_from={"registrar"}),
    "households.alternatecollector": desk(PERSONAL, hidden_from={"registrar"}),
    "households.duplicatecandidate": desk(PERSONAL, hidden_from={"registrar"}),
    # --- shelter: plots kept in the desk; the rest changes on the shelter pages -----------------------------------
    "shelter.plot": desk(SHELTER_READ, SHELTER_WRITE, ADMIN, hidden_from={"registrar"}),
    "shelter.allocation": desk(SHELTER_READ, hidden_from={"registrar"}),
    "shelter.waitingentry": desk(SHELTER_READ - {"manager"}, hidden_from={"registrar"}),
    "shelter.allocationplan": desk(SHELTER_READ - {"manager"}, hidden_from={"registrar"}),
    # --- distribution -------------------------------------------------------------------------------------------
    "distribution.distributioncycle": desk(CYCLES | {"auditor"}, CYCLES, CYCLES, {"submit_selected": CYCLES}),
    "distribution.distributionevent": desk(EVENTS_READ, CYCLES, CYCLES, {"open_events": CYCLES},
                                           hidden_from={"distribution"}),
    "distribution.card": desk(CARDS | {"manager", "auditor"}, CARDS, ADMIN,
                              {"replace_lost": CARDS, "replace_damaged": CARDS, "revoke": CARDS,
                               "retire_signing_keys": ADMIN},
                              hidden_from={"registrar"}),
    "distribution.redemption": desk(EVENTS_READ, ADMIN, hidden_from={"distribution"}),  # every field read-only
    "distribution.syncissue": desk(EVENTS_READ, SCAN, ADMIN, hidden_from={"distribution"}),
    # --- accountability: read-only in the desk, scoped as the pages (sensitive cases hidden from who is not named)
    "accountability.feedbackcase": desk(frozenset({"admin", "manager", "registrar", "auditor"}),
                                        hidden_from={"registrar"}),
    "accountability.pdmsample": desk(frozenset({"admin", "manager", "distribution", "auditor"}),
                                     hidden_from={"distribution"}),
    # --- replenishment: Logistics Managers plan, Auditors read ----------------------------------------------------
    "replenishment.route": desk(PLAN_VIEWERS, PLANNERS, PLANNERS),
    "replenishment.truck": desk(PLAN_VIEWERS, PLANNERS, PLANNERS),
    "replenishment.grantearmark": desk(PLAN_VIEWERS, PLANNERS, PLANNERS),
    "replenishment.pipeline": desk(PLAN_VIEWERS, PLANNERS, PLANNERS, {"submit_selected": PLANNERS}),
    "replenishment.pipelinearrival": desk(PLAN_VIEWERS, NOBODY, PLANNERS),
    "replenishment.replenishmentplan": desk(PLAN_VIEWERS, PLANNERS, PLANNERS, {"submit_selected": PLANNERS}),
    "replenishment.purchaserequest": desk(PLAN_VIEWERS, PLANNERS, PLANNERS, {"submit_selected": PLANNERS}),
}

# Pages of their own kind (no model rows): the job queues are for Administrators (tests/test_url_matrix.py).
NOT_MODEL_PAGES = {"django_rq.dashboard"}


def _label(model) -> str:
    return model._meta.label_lower


def registered():
    return {_label(m): a for m, a in admin.site._registry.items() if _label(m) not in NOT_MODEL_PAGES}


def _declared_actions(model_admin) -> set[str]:
    names = set()
    for action in model_admin.actions or ():
        names.add(action if isinstance(action, str) else action.__name__)
    return names


@pytest.mark.smoke
def test_every_desk_admin_and_action_has_a_row():
    from relief.core.admin import DeskAdmin

    admins = registered()
    assert sorted(set(admins) - set(DESK)) == [], "desk admins with no row in DESK (say who may use them)"
    assert sorted(set(DESK) - set(admins)) == [], "DESK rows for admins no longer registered"
    for label, model_admin in admins.items():
        assert isinstance(model_admin, DeskAdmin), f"{label}: every desk page is a relief.core.admin.DeskAdmin"
        declared = _declared_actions(model_admin)
        assert declared == set(DESK[label].actions), f"{label}: actions {sorted(declared)} vs DESK row"
        for name in declared:
            action = getattr(model_admin, name, None) or next(
                a for a in model_admin.actions if callable(a) and a.__name__ == name)
            assert getattr(action, "allowed_permissions", None), f"{label}.{name} declares no allowed_permissions"


# --- the shared data --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The demo, its users scoped to Nyarugusu (and the warehouse user to its warehouses there and the main
    one), and for each desk model one sample inside that scope and, where the model is scoped, one outside."""
    with matrix_samples.demo_data(django_db_blocker) as (users, _samples):
        with django_db_blocker.unblock():
            from relief.core.models import Site

            nya = Site.objects.get(code="NYA")
            for role in ("distribution", "registrar"):
                users[role].relief_profile.sites.set([nya])
            samples = _build(users)
        yield users, samples


def _build(users):
    from relief.core.jobs import job_start
    from relief.core.models import AccessLog, Block, NamingSeries, Site
    from relief.core.services import access_log_record, api_token_create
    from relief.distribution import services as distribution
    from relief.distribution.models import Card, DistributionCycle, DistributionEvent, Redemption, SyncIssue
    from relief.households.models import AlternateCollector, DuplicateCandidate, Household, Member
    from relief.inventory import services as inventory
    from relief.inventory.models import (
        Bin,
        Donor,
        Grant,
        Kit,
        Lot,
        ReorderLevel,
        Reservation,
        StockEntry,
        StockLedgerEntry,
        Warehouse,
        Waybill,
    )
    from relief.replenishment.models import (
        GrantEarmark,
        Pipeline,
        PurchaseRequest,
        ReplenishmentPlan,
        Route,
        Truck,
    )
    from relief.shelter.models import Allocation, AllocationPlan, Plot, WaitingEntry

    admin_user = users["admin"]
    ndu_fw, nya_fw = Warehouse.objects.get(code="NDU-FW"), Warehouse.objects.get(code="NYA-FW")
    blanket = StockEntry.objects.filter(entry_type="transfer").first().lines.first().item

    def draft_transfer(source, target):
        return inventory.stock_entry_create(entry_type="transfer", user=admin_user, lines=[
            inventory.LineData(item=blanket.code, qty=1, source=source, target=target)])

    ReorderLevel.objects.get_or_create(item=blanket, warehouse=nya_fw, defaults={"min_qty": 1, "max_qty": 9})
    ReorderLevel.objects.get_or_create(item=blanket, warehouse=ndu_fw, defaults={"min_qty": 1, "max_qty": 9})
    job = job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 1}, user=admin_user,
                    queue="short")
    token, _raw = api_token_create(user=admin_user, name="matrix phone", days=1)
    access_log_record(user=admin_user, object_type="household", object_id="HH-NYA-000001")
    from axes.models import AccessAttempt, AccessFailureLog
    from axes.models import AccessLog as AxesLog

    attempt = AccessAttempt.objects.create(username="guess", ip_address="10.0.0.9", user_agent="x",
                                           failures_since_start=1, get_data="", post_data="", http_accept="",
                                           path_info="/desk/login/")
    axes_log = AxesLog.objects.create(username="auditor", ip_address="10.0.0.9", user_agent="x", http_accept="",
                                      path_info="/desk/login/")
    failure = AccessFailureLog.objects.create(username="guess", ip_address="10.0.0.9", user_agent="x",
                                              http_accept="", path_info="/desk/login/")

    # Distribution: events, cards, redemptions and sync issues of Nyarugusu (in) and Nduta (out).
    events = {e.site.code: e for e in DistributionEvent.objects.select_related("site")}
    for code in ("NYA", "NDU"):
        if events[code].status == "planned":
            distribution.event_open(event=events[code], user=admin_user)
    for code in ("NYA", "NDU"):
        distribution.event_sync(event=events[code], user=admin_user, scans=[distribution.OfflineScan(
            client_id=str(uuid.uuid4()), code="not-a-card", scanned_at=timezone.now())])
    # The demo redeemed only Nyarugusu cards.
    ndu_card = Card.objects.filter(household__site__code="NDU", status="active").order_by("pk").first()
    distribution.redemption_record(code=ndu_card.code, event=events["NDU"], client_id=str(uuid.uuid4()),
                                   user=admin_user)

    from relief.replenishment import services as replenishment
    from relief.replenishment.models import PipelineLine

    pipeline_line = PipelineLine.objects.filter(pipeline__status="submitted").order_by("pk").first()
    arrival = replenishment.pipeline_arrival_record(line=pipeline_line, qty=1, receipt="GRN-MATRIX",
                                                    user=users["manager"])

    def by_site(queryset, path):
        return (queryset.filter(**{path: "NYA"}).order_by("pk").first(),
                queryset.filter(**{path: "NDU"}).order_by("pk").first())

    ndu = Site.objects.get(code="NDU")
    from relief.accountability.models import FeedbackCase, PdmSample

    pairs = {
        "accountability.feedbackcase": by_site(FeedbackCase.objects.filter(sensitive=False), "site__code"),
        "accountability.pdmsample": by_site(PdmSample.objects.all(), "event__site__code"),
        "core.site": (Site.objects.get(code="NYA"), None),
        "core.block": (Block.objects.filter(site__code="NYA").first(), None),
        "auth.user": (users["outsider"], None),
        "auth.group": (Group.objects.get(name="Auditor"), None),
        "core.apitoken": (token, None),
        "core.job": (job, None),
        "core.accesslog": (AccessLog.objects.first(), None),
        "core.namingseries": (NamingSeries.objects.first(), None),
        "axes.accessattempt": (attempt, None),
        "axes.accesslog": (axes_log, None),
        "axes.accessfailurelog": (failure, None),
        "inventory.warehouse": (nya_fw, ndu_fw),
        "inventory.item": (blanket, None),
        "inventory.kit": (Kit.objects.first(), None),
        "inventory.donor": (Donor.objects.first(), None),
        "inventory.grant": (Grant.objects.first(), None),
        "inventory.lot": (Lot.objects.first(), None),
        "inventory.bin": (Bin.objects.filter(warehouse=nya_fw).first(), Bin.objects.filter(warehouse=ndu_fw).first()),
        "inventory.stockledgerentry": (StockLedgerEntry.objects.filter(warehouse=nya_fw).first(),
                                       StockLedgerEntry.objects.filter(warehouse=ndu_fw).first()),
        "inventory.reservation": (Reservation.objects.filter(bin__warehouse__code="NYA-DP1").first(),
                                  Reservation.objects.filter(bin__warehouse__code="NDU-DP1").first()),
        "inventory.reorderlevel": by_site(ReorderLevel.objects.all(), "warehouse__site__code"),
        "inventory.stockentry": (draft_transfer("NYA-FW", "NYA-DP1"), draft_transfer("NDU-FW", "NDU-DP1")),
        "inventory.waybill": (Waybill.objects.filter(target=nya_fw).first(),
                              Waybill.objects.filter(source=ndu_fw).first()),
        "inventory.physicalcount": (inventory.count_sheet_create(warehouse=nya_fw, user=admin_user),
                                    inventory.count_sheet_create(warehouse=ndu_fw, user=admin_user)),
        "households.household": by_site(Household.objects.all(), "site__code"),
        "households.member": by_site(Member.objects.all(), "household__site__code"),
        "households.alternatecollector": (AlternateCollector.objects.filter(household__site__code="NYA").first(),
                                          None),
        "households.duplicatecandidate": (DuplicateCandidate.objects.first(), None),
        "shelter.plot": by_site(Plot.objects.all(), "site__code"),
        "shelter.allocation": by_site(Allocation.objects.all(), "plot__site__code"),
        "shelter.waitingentry": by_site(WaitingEntry.objects.all(), "site__code"),
        "shelter.allocationplan": by_site(AllocationPlan.objects.all(), "site__code"),
        "distribution.distributioncycle": (DistributionCycle.objects.first(), None),
        "distribution.distributionevent": (events["NYA"], events["NDU"]),
        "distribution.card": by_site(Card.objects.filter(status="active"), "household__site__code"),
        "distribution.redemption": by_site(Redemption.objects.all(), "event__site__code"),
        "distribution.syncissue": by_site(SyncIssue.objects.all(), "event__site__code"),
        "replenishment.route": (Route.objects.first(), None),
        "replenishment.truck": (Truck.objects.first(), None),
        "replenishment.grantearmark": (GrantEarmark.objects.first(), None),
        "replenishment.pipeline": (Pipeline.objects.create(donor=Donor.objects.first(), created_by=admin_user),
                                   None),
        "replenishment.pipelinearrival": (arrival, None),
        "replenishment.replenishmentplan": (ReplenishmentPlan.objects.first(), None),
        "replenishment.purchaserequest": (PurchaseRequest.objects.create(
            warehouse=Warehouse.objects.get(code="KGM-MAIN"), need_by=timezone.localdate(), created_by=admin_user),
            None),
    }
    assert ndu is not None
    return pairs


# --- the session --------------------------------------------------------------------------------------------


class Browser:
    """One role's desk session: the test client checks CSRF, so every POST sends the token as a form would."""

    def __init__(self, user: User):
        self.client = Client(enforce_csrf_checks=True, raise_request_exception=False, HTTP_HOST="localhost")
        self.client.force_login(user)
        self.client.get("/desk/")
        self.token = self.client.cookies["csrftoken"].value

    def get(self, url, **extra):
        return self.client.get(url, **extra)

    def post(self, url, data=None):
        return self.client.post(url, {**(data or {}), "csrfmiddlewaretoken": self.token})


def fingerprint(model, obj) -> tuple:
    from relief.inventory.models import StockLedgerEntry

    stored = model._default_manager.filter(pk=obj.pk).values().first() if obj is not None else None
    ledger = StockLedgerEntry.objects.aggregate(total=Sum("qty"), rows=models.Count("pk"))
    return model._default_manager.count(), repr(stored), ledger["total"], ledger["rows"]


def urls(model, obj) -> dict[str, str]:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    out = {"list": reverse(f"{name}_changelist")}
    if obj is not None:
        out |= {"change": reverse(f"{name}_change", args=[obj.pk]), "delete": reverse(f"{name}_delete", args=[obj.pk]),
                "history": reverse(f"{name}_history", args=[obj.pk])}
        if hasattr(model, "history"):
            record = model.history.filter(**{model._meta.pk.attname: obj.pk}).order_by("history_id").first()
            if record is not None:
                out["history_form"] = reverse(f"{name}_simple_history", args=[obj.pk, record.history_id])
    return out


def undeclared_lookup(model_admin) -> str:
    """A lookup on a field that is no declared filter: a secret field if the model has one."""
    declared = {(f if isinstance(f, str) else f[0] if isinstance(f, (tuple, list)) else "") for f in
                model_admin.list_filter}
    for name in (*model_admin.secret_fields, *(f.name for f in model_admin.model._meta.concrete_fields)):
        field_ = model_admin.model._meta.get_field(name)
        if name not in declared and isinstance(field_, models.CharField):
            return f"{name}__regex"
    return "pk__gte"


def _listed(response, obj) -> bool:
    return response.context["cl"].queryset.filter(pk=obj.pk).exists()


class Findings(list):
    def add(self, label, role, what, expected, got):
        self.append((label, role, what, expected, got))

    def table(self) -> str:
        return "\n".join("  ".join(str(v) for v in row) for row in self)


def rolled_back(browser: Browser, url: str, data: dict, model, obj):
    """POST in a savepoint that is rolled back; return the response and whether the database (the sample's
    model, the sample itself, the ledger) was exactly as before."""
    with transaction.atomic():
        before = fingerprint(model, obj)
        response = browser.post(url, data)
        unchanged = fingerprint(model, obj) == before
        transaction.set_rollback(True)
    return response, unchanged


# Refused: 403, or (out of scope, which looks like absent) the desk's redirect home or a 404.
REFUSED = (302, 403, 404)
# Retiring a signing key changes key files, which no savepoint rolls back: offered is checked, never run here.
NOT_RUN = {"retire_signing_keys"}
# A list action that is not offered to the user is answered with the list again and "No action selected".
ACTION_REFUSED = (200, *REFUSED)


@pytest.mark.django_db
def test_desk_matrix(world):
    users, samples = world
    browsers = {role: Browser(users[role]) for role in ROLES}
    found = Findings()
    for label, model_admin in sorted(registered().items()):
        row, model = DESK[label], model_admin.model
        inside, outside = samples[label]
        assert inside is not None, f"{label}: the demo made no sample"
        secrets = [str(getattr(o, f)) for f in model_admin.secret_fields for o in (inside, outside) if o is not None]
        lookup = undeclared_lookup(model_admin)
        for role in ROLES:
            browser = browsers[role]
            reads, changes, deletes = role in row.read, role in row.change, role in row.delete
            here = urls(model, inside)

            def expect(what, response, ok, *, role=role, label=label, secrets=secrets):
                if response.status_code >= 500 or response.status_code not in ok:
                    found.add(label, role, what, ok, response.status_code)
                elif response.status_code == 200 and any(s and s in response.content.decode() for s in secrets):
                    found.add(label, role, what, "no secret shown", "secret in page")

            def refused_write(what, url, data, obj, *, browser=browser, role=role, label=label, model=model):
                response, unchanged = rolled_back(browser, url, data, model, obj)
                ok = ACTION_REFUSED if what.startswith("action") else REFUSED
                if response.status_code not in ok:
                    found.add(label, role, what, ok, response.status_code)
                if not unchanged:
                    found.add(label, role, what, "nothing changed", "database changed")

            listed = browser.get(here["list"])
            expect("list", listed, (200,) if reads else (403,))
            if reads and listed.status_code == 200:
                if not _listed(listed, inside):
                    found.add(label, role, "list", "sample listed", "not listed")
                if outside is not None and _listed(listed, outside) == (role in row.hidden_from):
                    found.add(label, role, "list out of scope", "hidden" if role in row.hidden_from else "listed",
                              "listed" if role in row.hidden_from else "hidden")
                if role == min(row.read, key=ROLES.index):  # the allow-list is the same for every role
                    expect(f"filter ?{lookup}", browser.get(f"{here['list']}?{lookup}=^."), (400,))
            opened = browser.get(here["change"])
            expect("open", opened, (200,) if reads else REFUSED)
            if opened.status_code == 200 and (b'name="_save"' in opened.content) != changes:
                found.add(label, role, "change form", "editable" if changes else "read-only",
                          "editable" if not changes else "read-only")
            if not changes:
                refused_write("change POST", here["change"], {"_save": "1"}, inside)
            if opened.status_code == 200 and (b'class="deletelink"' in opened.content) != deletes:
                found.add(label, role, "delete link", "offered" if deletes else "not offered",
                          "not offered" if deletes else "offered")
            if not deletes:
                refused_write("delete POST", here["delete"], {"post": "yes"}, inside)
            if "history_form" in here:
                expect("history", browser.get(here["history"]), (200,) if reads else REFUSED)
                if secrets or role == "auditor":
                    expect("history version", browser.get(here["history_form"]), (200,) if reads else REFUSED)
                refused_write("history POST", here["history_form"], {}, inside)
            for action, allowed in row.actions.items():
                data = {"action": action, "_selected_action": [inside.pk], "index": 0}
                if role in allowed:
                    # Offered to every allowed role; run (and rolled back) by the first, to keep the matrix quick.
                    if f'value="{action}"'.encode() not in listed.content:
                        found.add(label, role, f"action {action}", "offered", "not offered")
                    if role == min(allowed, key=ROLES.index) and action not in NOT_RUN:
                        response, _unchanged = rolled_back(browser, here["list"], data, model, inside)
                        expect(f"action {action}", response, (302,))
                else:
                    refused_write(f"action {action}", here["list"], data, inside)
            if outside is None or role not in row.hidden_from:
                continue
            there = urls(model, outside)
            expect("open out of scope", browser.get(there["change"]), (302, 404))
            refused_write("change POST out of scope", there["change"], {"_save": "1"}, outside)
            refused_write("delete POST out of scope", there["delete"], {"post": "yes"}, outside)
            if "history_form" in there:
                expect("history out of scope", browser.get(there["history"]), (302, 404))
                expect("history version out of scope", browser.get(there["history_form"]), (302, 404))
            for action in row.actions:
                data = {"action": action, "_selected_action": [outside.pk], "index": 0}
                refused_write(f"action {action} out of scope", there["list"], data, outside)
    print(found.table())
    assert not found, f"{len(found)} desk requests answered wrongly:\n{found.table()}"


# --- the seven cases of issue 11, each refused with a clear message and nothing changed ------------------------


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


@pytest.mark.django_db
def test_case1_the_audit_trail_cannot_be_posted_back(world):
    """An Auditor reactivating a revoked card, renaming an item or deactivating a warehouse through the
    history page; Warehouse Staff adding themselves to another warehouse's staff: all refused, nothing changed."""
    from relief.distribution import services as distribution
    from relief.distribution.models import Card

    users, samples = world
    card = samples["distribution.card"][0]
    distribution.card_revoke(card=card, user=users["admin"], note="lost at the gate")
    revoked = Card.history.filter(id=card.pk).order_by("history_id").first()
    auditor = Browser(users["auditor"])
    url = reverse("admin:distribution_card_simple_history", args=[card.pk, revoked.history_id])
    response, unchanged = rolled_back(auditor, url, {"status": "active", "status_reason": ""}, Card, card)
    assert response.status_code == 403 and unchanged
    item = samples["inventory.item"][0]
    record = item.history.order_by("history_id").first()
    url = reverse("admin:inventory_item_simple_history", args=[item.pk, record.history_id])
    response, unchanged = rolled_back(auditor, url, {"name": "renamed", "code": item.code}, type(item), item)
    assert response.status_code == 403 and unchanged
    warehouse_out = samples["inventory.warehouse"][1]
    record = warehouse_out.history.order_by("history_id").first()
    url = reverse("admin:inventory_warehouse_simple_history", args=[warehouse_out.pk, record.history_id])
    staff = Browser(users["warehouse"])
    response, unchanged = rolled_back(staff, url, {"staff": [users["warehouse"].pk], "code": warehouse_out.code},
                                      type(warehouse_out), warehouse_out)
    assert response.status_code == 403 and unchanged
    assert not warehouse_out.staff.filter(pk=users["warehouse"].pk).exists()
    # Read-only: the version is shown, without the card's QR text, and with no form to post.
    page = auditor.get(reverse("admin:distribution_card_simple_history", args=[card.pk, revoked.history_id]))
    assert page.status_code == 200 and card.code not in page.content.decode() and b"<form" not in page.content.split(
        b'id="content"')[-1]


@pytest.mark.django_db
def test_case2_list_actions_check_the_permission_and_the_scope(world):
    """An Auditor submitting a write-off or a cycle, opening an event, revoking cards; staff of one site acting
    on another site's event or cards; Warehouse Staff submitting a transfer out of a warehouse not theirs."""
    from relief.distribution.models import Card, DistributionCycle, DistributionEvent
    from relief.inventory import services as inventory
    from relief.inventory.models import StockEntry

    users, samples = world
    write_off = inventory.stock_entry_create(entry_type="issue", purpose="write-off", reason="damaged",
                                             user=users["admin"], lines=[inventory.LineData(
                                                 item=samples["inventory.item"][0].code, qty=1, source="NYA-FW")])
    auditor, registrar, staff = Browser(users["auditor"]), Browser(users["registrar"]), Browser(users["warehouse"])
    cases = [
        (auditor, StockEntry, write_off, "submit_selected"),
        (auditor, DistributionCycle, samples["distribution.distributioncycle"][0], "submit_selected"),
        (auditor, DistributionEvent, samples["distribution.distributionevent"][0], "open_events"),
        (auditor, Card, samples["distribution.card"][0], "revoke"),
        (registrar, Card, samples["distribution.card"][1], "revoke"),
        (registrar, Card, samples["distribution.card"][1], "replace_lost"),
        (staff, StockEntry, samples["inventory.stockentry"][1], "submit_selected"),
    ]
    for browser, model, obj, action in cases:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response, unchanged = rolled_back(browser, url, {"action": action, "_selected_action": [obj.pk], "index": 0},
                                          model, obj)
        assert response.status_code in ACTION_REFUSED and unchanged, (model, action)
    # In scope and allowed, the same action runs through the service: the card is revoked, with a message.
    card = samples["distribution.card"][0]
    with transaction.atomic():
        response = registrar.client.post(reverse("admin:distribution_card_changelist"), {
            "action": "revoke", "_selected_action": [card.pk], "index": 0,
            "csrfmiddlewaretoken": registrar.token}, follow=True)
        assert f"{card.serial} revoked" in _messages(response)
        assert Card.objects.get(pk=card.pk).status == "revoked"
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_case3_no_lookup_on_a_hidden_field_and_no_card_code_anywhere(world):
    users, samples = world
    card = samples["distribution.card"][0]
    registrar = Browser(users["registrar"])
    url = reverse("admin:distribution_card_changelist")
    assert registrar.get(f"{url}?code__regex=^{card.code[:3]}").status_code == 400
    assert registrar.get(f"{url}?household__members__given_name__startswith=A").status_code == 400
    assert registrar.get(f"{url}?status__exact=active").status_code == 200
    for page in (url, reverse("admin:distribution_card_change", args=[card.pk]),
                 reverse("admin:distribution_card_history", args=[card.pk]), f"{url}?q={card.serial}"):
        response = registrar.get(page)
        assert response.status_code == 200 and card.code not in response.content.decode(), page
    assert registrar.get(f"{url}?q={card.code[:12]}").context["cl"].result_count == 0


@pytest.mark.django_db
def test_case4_other_sites_are_not_listed_opened_resolved_or_deleted(world):
    from relief.distribution.models import DistributionEvent, SyncIssue
    from relief.inventory.models import StockEntry

    users, samples = world
    team = Browser(users["distribution"])
    issue_out = samples["distribution.syncissue"][1]
    url = reverse("admin:distribution_syncissue_change", args=[issue_out.pk])
    response, unchanged = rolled_back(team, url, {"resolution": "called the team", "_save": "1"}, SyncIssue,
                                      issue_out)
    assert response.status_code == 302 and unchanged and response["Location"] == reverse("admin:index")
    events = team.get(reverse("admin:distribution_distributionevent_changelist")).context["cl"].queryset
    assert set(events.values_list("site__code", flat=True)) == {"NYA"}
    staff = Browser(users["warehouse"])
    draft_out = samples["inventory.stockentry"][1]
    for url, data in ((reverse("admin:inventory_stockentry_delete", args=[draft_out.pk]), {"post": "yes"}),
                      (reverse("admin:inventory_stockentry_changelist"),
                       {"action": "delete_selected", "_selected_action": [draft_out.pk], "post": "yes"})):
        response, unchanged = rolled_back(staff, url, data, StockEntry, draft_out)
        assert response.status_code == 302 and unchanged
    history = team.get(reverse("admin:distribution_distributionevent_history",
                               args=[samples["distribution.distributionevent"][1].pk]))
    assert history.status_code == 302
    assert DistributionEvent.objects.filter(pk=samples["distribution.distributionevent"][1].pk).exists()


@pytest.mark.django_db
def test_case5_auditors_do_not_read_the_login_attempt_log(world):
    users, _samples = world
    auditor = Browser(users["auditor"])
    for model in ("accessattempt", "accesslog", "accessfailurelog"):
        assert auditor.get(reverse(f"admin:axes_{model}_changelist")).status_code == 403
    assert b"/desk/axes/" not in auditor.get("/desk/").content
    assert Browser(users["admin"]).get(reverse("admin:axes_accessattempt_changelist")).status_code == 200


@pytest.mark.django_db
def test_case6_a_cycle_with_no_sites_is_a_message_not_a_500(world):
    from relief.distribution.models import DistributionCycle

    users, _samples = world
    manager = Browser(users["manager"])
    today = timezone.localdate()
    with transaction.atomic():
        cycle = DistributionCycle.objects.create(name="No sites yet", period_start=today, period_end=today,
                                                 created_by=users["manager"])
        url = reverse("admin:distribution_distributioncycle_change", args=[cycle.pk])
        response = manager.client.post(url, {"_submit": "1", "csrfmiddlewaretoken": manager.token}, follow=True)
        assert response.status_code == 200
        assert "add at least one site" in _messages(response)
        assert DistributionCycle.objects.get(pk=cycle.pk).status == "draft"
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_case7_cancelling_is_deliberate(world):
    """Warehouse Staff may not cancel; a manager sees what will be reversed, must give a reason, and only then
    is the entry cancelled; POSTing a submitted document's change form is a message, not a 500."""
    from relief.inventory import services as inventory
    from relief.inventory.models import StockEntry, StockLedgerEntry

    users, samples = world
    with transaction.atomic():
        entry = inventory.stock_entry_submit(entry=samples["inventory.stockentry"][0], user=users["admin"])
        cancel = reverse("admin:inventory_stockentry_cancel", args=[entry.pk])
        staff, manager = Browser(users["warehouse"]), Browser(users["manager"])
        assert staff.get(cancel).status_code == 403
        response, unchanged = rolled_back(staff, cancel, {"reason": "wrong warehouse entirely"}, StockEntry, entry)
        assert response.status_code == 403 and unchanged
        change = reverse("admin:inventory_stockentry_change", args=[entry.pk])
        assert b"/cancel/" not in staff.get(change).content
        assert b"/cancel/" in manager.get(change).content
        page = manager.get(cancel).content.decode()
        assert "posted back" in page and "reason" in page
        for reason in ("", "oops"):
            response, unchanged = rolled_back(manager, cancel, {"reason": reason}, StockEntry, entry)
            assert response.status_code == 200 and unchanged and 'class="errorlist' in response.content.decode()
        assert "in a few words" in manager.post(cancel, {"reason": "oops"}).content.decode()
        response, unchanged = rolled_back(manager, change, {"_save": "1", "remarks": "edited"}, StockEntry, entry)
        assert response.status_code == 302 and unchanged
        ledger = StockLedgerEntry.objects.aggregate(rows=models.Count("pk"))["rows"]
        response = manager.post(cancel, {"reason": "sent to the wrong point"})
        assert response.status_code == 302
        entry.refresh_from_db()
        assert entry.status == "cancelled" and entry.cancel_reason == "sent to the wrong point"
        assert StockLedgerEntry.objects.aggregate(rows=models.Count("pk"))["rows"] > ledger
        transaction.set_rollback(True)
