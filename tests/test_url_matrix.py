"""Every URL of the URLconf × every role: who gets in, who is refused, and nobody ever gets a 500.

``MATRIX`` has one row per route of the URLconf (the desk under ``desk/`` apart: it has its own generic
check below). Each row lists the requests made on that route (method, URL with real demo values, body)
and exactly which roles may make them, as README "Who does what" and each package's ``access.py`` say:

* an allowed role gets one of the statuses the check names (200 unless said otherwise);
* any other role is refused: 403; anonymous is sent to the login page (302) or, on the API, gets 401;
* nobody gets a 500.

A route added to the URLconf without a row here fails ``test_every_route_has_a_row``; an API method
added to an existing path fails it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import matrix_samples

ROLES = matrix_samples.ROLES

EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
ADMIN = frozenset({"admin"})
# relief.inventory.access
STOCK_READERS = frozenset({"admin", "manager", "auditor", "warehouse", "distribution"})
STOCK_POSTERS = frozenset({"admin", "manager", "warehouse"})
# relief.core.roles.CANCEL_ROLES: cancelling a submitted document reverses it
CANCELLERS = frozenset({"admin", "manager"})
DONOR_REPORT = frozenset({"admin", "manager", "auditor"})
# relief.households.access: personal record, identity check, counts
PERSONAL = frozenset({"admin", "registrar"})
IDENTITY = PERSONAL | {"distribution"}
COUNTS = IDENTITY | {"auditor", "manager"}
# relief.shelter.access
SHELTER_READ = frozenset({"admin", "registrar", "auditor", "manager"})
SHELTER_WRITE = frozenset({"admin", "registrar"})
# relief.distribution.access
EVENTS_READ = frozenset({"admin", "distribution", "manager", "auditor"})
SCAN = frozenset({"admin", "distribution"})
CARDS = frozenset({"admin", "registrar"})
CYCLES = frozenset({"admin", "manager"})
# relief.replenishment.access
PLAN_VIEWERS = frozenset({"admin", "manager", "auditor"})
PLANNERS = frozenset({"admin", "manager"})
# relief.accountability.access (a sensitive case is hidden from everyone not named: tests/accountability)
FEEDBACK_READERS = frozenset({"admin", "manager", "registrar", "distribution", "auditor"})
FEEDBACK_TAKERS = frozenset({"admin", "manager", "registrar", "distribution"})
FEEDBACK_HANDLERS = frozenset({"admin", "manager", "registrar"})
PDM_READERS = frozenset({"admin", "manager", "distribution", "auditor"})
PDM_WRITERS = frozenset({"admin", "manager", "distribution"})
# A job (and what it made) is for who started it, and Administrators; see matrix_samples for the owners.
JOB_OWNER = frozenset({"admin", "warehouse"})
IMPORT_OWNER = frozenset({"admin", "registrar"})
CARDS_OWNER = frozenset({"admin", "registrar"})


@dataclass(frozen=True)
class Check:
    method: str
    url: str
    allowed: frozenset[str]
    ok: tuple[int, ...] = (200,)
    body: dict | None = None


def get(url: str, allowed, ok=(200,)) -> Check:
    return Check("GET", url, frozenset(allowed), tuple(ok))


def post(url: str, allowed, ok=(302,), body=None) -> Check:
    """A page's form posted empty or invalid (or an API call with a body that fails after the role check)."""
    return Check("POST", url, frozenset(allowed), tuple(ok), body)


def patch(url: str, allowed, ok=(200,), body=None) -> Check:
    return Check("PATCH", url, frozenset(allowed), tuple(ok), body)


NO_HOUSEHOLD = "HH-NYA-999999"

MATRIX: dict[str, tuple[Check, ...]] = {
    # --- core ---------------------------------------------------------------------------------------------------
    "": (get("/", EVERYONE, ok=(302,)),),
    "i18n/setlang/": (post("/i18n/setlang/", EVERYONE, body={"language": "en", "next": "/"}),),
    "health/": (get("/health/", EVERYONE, ok=(200, 503)),),
    "jobs/sample/": (post("/jobs/sample/", ADMIN),),
    "jobs/<uuid:job_id>/": (get("/jobs/{job}/", JOB_OWNER),),
    "jobs/<uuid:job_id>/status/": (get("/jobs/{job}/status/", JOB_OWNER),),
    # --- inventory ----------------------------------------------------------------------------------------------
    "inventory/stock/": (get("/inventory/stock/?warehouse={warehouse}", STOCK_READERS),),
    "inventory/stock-card/": (get("/inventory/stock-card/?warehouse={warehouse}&item={item}", STOCK_READERS),),
    "inventory/expiring/": (get("/inventory/expiring/", STOCK_READERS),),
    "inventory/donor-report/": (get("/inventory/donor-report/", DONOR_REPORT),),
    "inventory/entries/<str:number>/pdf/": (get("/inventory/entries/{entry}/pdf/", STOCK_READERS),),
    "inventory/waybills/<str:number>/pdf/": (get("/inventory/waybills/{waybill}/pdf/", STOCK_READERS),),
    "inventory/waybills/<str:number>/receive/": (
        get("/inventory/waybills/{waybill}/receive/", STOCK_READERS),
        # Already received: the form comes back with the problems named.
        post("/inventory/waybills/{waybill}/receive/", STOCK_POSTERS, ok=(200,)),
    ),
    "inventory/counts/<int:pk>/sheet/": (get("/inventory/counts/{count}/sheet/", STOCK_READERS),),
    "inventory/counts/<int:pk>/upload/": (
        get("/inventory/counts/{count}/upload/", STOCK_POSTERS),
        post("/inventory/counts/{count}/upload/", STOCK_POSTERS, ok=(200,)),
    ),
    # --- households ---------------------------------------------------------------------------------------------
    "households/": (get("/households/", IDENTITY), post("/households/", IDENTITY, ok=(200,))),
    "households/register/": (get("/households/register/", PERSONAL),
                             post("/households/register/", PERSONAL, ok=(200,))),
    "households/summary/": (get("/households/summary/", COUNTS), get("/households/summary/?format=csv", COUNTS)),
    "households/export/partners/": (get("/households/export/partners/?format=csv", PERSONAL),),
    "households/import/": (get("/households/import/", PERSONAL), post("/households/import/", PERSONAL, ok=(200,))),
    "households/import/<uuid:job_id>/": (get("/households/import/{import_job}/", IMPORT_OWNER),),
    "households/import/<uuid:job_id>/report/": (get("/households/import/{import_job}/report/", IMPORT_OWNER),),
    "households/convoy/": (get("/households/convoy/", PERSONAL), post("/households/convoy/", PERSONAL, ok=(200,))),
    "households/convoy/<uuid:job_id>/": (get("/households/convoy/{convoy_job}/", IMPORT_OWNER),),
    "households/convoy/<uuid:job_id>/report/": (get("/households/convoy/{convoy_job}/report/", IMPORT_OWNER),),
    "households/duplicates/": (get("/households/duplicates/", PERSONAL), post("/households/duplicates/", PERSONAL)),
    "households/duplicates/<int:candidate_id>/": (post("/households/duplicates/{candidate}/", PERSONAL),),
    "households/<str:number>/": (get("/households/{household}/", IDENTITY),),
    "households/<str:number>/change/": (post("/households/{household}/change/", PERSONAL),),
    "households/<str:number>/status/": (post("/households/{household}/status/", PERSONAL),),
    "households/<str:number>/moves-on/": (post("/households/{household}/moves-on/", PERSONAL),),
    "households/<str:number>/members/": (post("/households/{household}/members/", PERSONAL),),
    # The head made head again: nothing changes.
    "households/<str:number>/members/<int:member_id>/<str:action>/": (
        post("/households/{household}/members/{member}/head/", PERSONAL),),
    "households/<str:number>/collectors/": (post("/households/{household}/collectors/", PERSONAL),),
    "households/<str:number>/collectors/<int:collector_id>/remove/": (
        post("/households/{household}/collectors/{collector}/remove/", PERSONAL),),
    # --- shelter ------------------------------------------------------------------------------------------------
    "shelter/": (get("/shelter/", SHELTER_READ),),
    "shelter/plans/<str:number>/": (get("/shelter/plans/{plan}/", SHELTER_READ),
                                    post("/shelter/plans/{plan}/", SHELTER_WRITE)),
    "shelter/<str:code>/": (get("/shelter/{site}/", SHELTER_READ),),
    "shelter/<str:code>/map.svg": (get("/shelter/{site}/map.svg", SHELTER_READ),),
    "shelter/<str:code>/waiting/": (get("/shelter/{site}/waiting/", SHELTER_READ),
                                    post("/shelter/{site}/waiting/", SHELTER_WRITE)),
    "shelter/<str:code>/plan/": (post("/shelter/{site}/plan/", SHELTER_WRITE),),
    "shelter/<str:code>/plots/<str:plot_code>/": (get("/shelter/{site}/plots/{plot}/", SHELTER_READ),
                                                  post("/shelter/{site}/plots/{plot}/", SHELTER_WRITE)),
    # --- distribution -------------------------------------------------------------------------------------------
    "scan/": (get("/scan/", SCAN),),
    # Supervisors (the approve-exception right: Administrators, Logistics Managers) set their approval PIN.
    "scan/pin/": (get("/scan/pin/", CYCLES), post("/scan/pin/", CYCLES, ok=(200,))),
    # The scanning station's service worker and web app manifest: static files, rendered, for anyone.
    "scan/sw.js": (get("/scan/sw.js", EVERYONE),),
    # The site's LAN certificate authority, for phones: public; this test site has none made (404 for all).
    "tls/ca.crt": (get("/tls/ca.crt", EVERYONE, ok=(404,)),),
    "scan/manifest.webmanifest": (get("/scan/manifest.webmanifest", EVERYONE),),
    "distribution/events/": (get("/distribution/events/", EVENTS_READ),),
    "distribution/events/<int:event_id>/": (get("/distribution/events/{event}/", EVENTS_READ),),
    r"^distribution/events/(?P<event_id>[0-9]+)/export\.(?P<fmt>csv|xlsx)$": (
        get("/distribution/events/{event}/export.csv", EVENTS_READ),
        get("/distribution/events/{event}/export.xlsx", EVENTS_READ)),
    # End-of-day close-out, posted with no counts: the form comes back with each item's problem.
    "distribution/events/<int:event_id>/close/": (get("/distribution/events/{event}/close/", CYCLES),
                                                  post("/distribution/events/{event}/close/", CYCLES, ok=(200,))),
    "distribution/events/<int:event_id>/issues/<int:issue_id>/resolve/": (
        post("/distribution/events/{event}/issues/{issue}/resolve/", SCAN),),
    "distribution/cycles/<int:cycle_id>/generate/": (get("/distribution/cycles/{cycle}/generate/", CYCLES),
                                                     post("/distribution/cycles/{cycle}/generate/", CYCLES)),
    "distribution/cards/print/": (get("/distribution/cards/print/", CARDS),
                                  post("/distribution/cards/print/", CARDS, ok=(200,))),
    "distribution/cards/<uuid:job_id>.pdf": (get("/distribution/cards/{cards_job}.pdf", CARDS_OWNER),),
    # One card: card roles; the team only for a card they replaced at the table within the hour (not this one).
    r"^distribution/cards/(?P<serial>[A-Z0-9]{2,6}-[0-9]{4,10})/card\.pdf$": (
        get("/distribution/cards/{card}/card.pdf", CARDS),),
    # --- replenishment ------------------------------------------------------------------------------------------
    "dashboard/": (get("/dashboard/", PLAN_VIEWERS),),
    "replenishment/plans/": (get("/replenishment/plans/", PLAN_VIEWERS),
                             post("/replenishment/plans/", PLANNERS, ok=(200,))),
    "replenishment/plans/<str:number>/": (get("/replenishment/plans/{rplan}/", PLAN_VIEWERS),
                                          post("/replenishment/plans/{rplan}/", PLANNERS)),
    "replenishment/plans/<str:number>/xlsx/": (get("/replenishment/plans/{rplan}/xlsx/", PLAN_VIEWERS),),
    # Posted with no action: refused with a message, nothing decided.
    "replenishment/purchase-requests/<str:number>/": (get("/replenishment/purchase-requests/{pr}/", PLAN_VIEWERS),
                                                      post("/replenishment/purchase-requests/{pr}/", PLANNERS)),
    "replenishment/purchase-requests/<str:number>/pdf/": (
        get("/replenishment/purchase-requests/{pr}/pdf/", PLAN_VIEWERS),),
    # --- accountability -----------------------------------------------------------------------------------------
    "feedback/": (get("/feedback/", FEEDBACK_READERS), get("/feedback/?overdue=1&status=all", FEEDBACK_READERS)),
    # Posted empty: the form comes back naming what is missing.
    "feedback/new/": (get("/feedback/new/?household={household}&event={event}&channel=table", FEEDBACK_TAKERS),
                      post("/feedback/new/", FEEDBACK_TAKERS, ok=(200,))),
    "feedback/import/": (get("/feedback/import/", FEEDBACK_HANDLERS),
                         post("/feedback/import/", FEEDBACK_HANDLERS, ok=(200,))),
    "feedback/<str:number>/": (get("/feedback/{case}/", FEEDBACK_READERS),
                               post("/feedback/{case}/", FEEDBACK_HANDLERS)),
    "reports/reached/": (get("/reports/reached/", DONOR_REPORT), get("/reports/reached/?format=csv", DONOR_REPORT)),
    r"^reports/4w\.(?P<fmt>csv|xlsx)$": (get("/reports/4w.csv", DONOR_REPORT), get("/reports/4w.xlsx", DONOR_REPORT)),
    "reports/donor-values/": (get("/reports/donor-values/", DONOR_REPORT),
                              get("/reports/donor-values/?format=xlsx", DONOR_REPORT)),
    # A draw of 0 households is refused with a message (and nothing drawn).
    "pdm/events/<int:event_id>/": (get("/pdm/events/{event}/", PDM_READERS),
                                   post("/pdm/events/{event}/", PDM_WRITERS, body={"size": "0"})),
    "pdm/<str:number>/sample.xlsx": (get("/pdm/{pdm}/sample.xlsx", PDM_READERS),),
    "pdm/<str:number>/answers/": (post("/pdm/{pdm}/answers/", PDM_WRITERS),),
    # --- API ----------------------------------------------------------------------------------------------------
    "api/v1/": (get("/api/v1/", EVERYONE, ok=(404,)),),
    "api/v1/openapi.json": (get("/api/v1/openapi.json", EVERYONE),),
    # The docs page is for signed-in users (anonymous: sent to log in, as a page); the schema stays open.
    "api/v1/docs": (get("/api/v1/docs", SIGNED_IN),),
    "api/v1/auth/token": (post("/api/v1/auth/token", EVERYONE, ok=(200,), body={
        "username": "auditor", "password": "{auditor_password}", "name": "matrix", "days": 1}),),
    "api/v1/me": (get("/api/v1/me", SIGNED_IN),),
    "api/v1/stock": (get("/api/v1/stock?warehouse={warehouse}", STOCK_READERS),),
    "api/v1/stock-entries": (post("/api/v1/stock-entries", STOCK_POSTERS, ok=(422,), body={
        "type": "transfer", "lines": [{"item": "NO-SUCH-ITEM", "qty": 1, "source": "NYA-FW", "target": "NYA-DP1"}]}),),
    "api/v1/stock-entries/<number>": (get("/api/v1/stock-entries/{entry}", STOCK_READERS),),
    # A cancelled entry is neither submitted nor cancelled again.
    "api/v1/stock-entries/<number>/submit": (
        post("/api/v1/stock-entries/{entry_cancelled}/submit", STOCK_POSTERS, ok=(409,)),),
    "api/v1/stock-entries/<number>/cancel": (
        post("/api/v1/stock-entries/{entry_cancelled}/cancel", CANCELLERS, ok=(409,), body={"reason": "x"}),),
    "api/v1/waybills/<number>/receive": (
        post("/api/v1/waybills/{waybill}/receive", STOCK_POSTERS, ok=(409,),
             body={"lines": [{"line": 0, "received": 0}]}),),
    "api/v1/households": (
        get("/api/v1/households?site={site}", IDENTITY),
        post("/api/v1/households", PERSONAL, ok=(422,), body={
            "site": "ZZZ", "consent_given_by": "head", "consent_date": "{today}", "consent_purposes": [],
            "members": []}),
    ),
    "api/v1/households/search": (post("/api/v1/households/search", IDENTITY, ok=(200,), body={"q": "zzzz"}),),
    "api/v1/households/summary": (get("/api/v1/households/summary", COUNTS),),
    "api/v1/households/<number>": (get("/api/v1/households/{household}", IDENTITY),
                                   patch("/api/v1/households/{household}", PERSONAL, body={})),
    "api/v1/shelter/sites/<code>/occupancy": (get("/api/v1/shelter/sites/{site}/occupancy", SHELTER_READ),),
    "api/v1/shelter/sites/<code>/plots": (get("/api/v1/shelter/sites/{site}/plots", SHELTER_READ),),
    # The plot has a household on it: it cannot be marked unusable.
    "api/v1/shelter/sites/<code>/plots/<plot>": (
        patch("/api/v1/shelter/sites/{site}/plots/{plot}", SHELTER_WRITE, ok=(422,), body={"status": "unusable"}),),
    "api/v1/shelter/allocations": (post("/api/v1/shelter/allocations", SHELTER_WRITE, ok=(422,), body={
        "household": NO_HOUSEHOLD, "site": "{site}", "plot": "{plot}"}),),
    "api/v1/shelter/relocations": (post("/api/v1/shelter/relocations", SHELTER_WRITE, ok=(422,), body={
        "household": NO_HOUSEHOLD, "site": "{site}", "plot": "{plot}"}),),
    "api/v1/shelter/allocations/<number>/end": (
        post("/api/v1/shelter/allocations/{allocation_ended}/end", SHELTER_WRITE, ok=(409, 422),
             body={"reason": "error"}),),
    "api/v1/shelter/sites/<code>/waiting": (get("/api/v1/shelter/sites/{site}/waiting", SHELTER_READ),),
    "api/v1/shelter/waiting": (post("/api/v1/shelter/waiting", SHELTER_WRITE, ok=(422,),
                                    body={"household": NO_HOUSEHOLD}),),
    "api/v1/shelter/sites/<code>/plans": (post("/api/v1/shelter/sites/{site}/plans", SHELTER_WRITE, ok=(422,),
                                               body={"weights": {"no-such-rule": 1}}),),
    "api/v1/shelter/plans/<number>": (get("/api/v1/shelter/plans/{plan}", SHELTER_READ),),
    "api/v1/shelter/plans/<number>/lines/<line_no>": (
        patch("/api/v1/shelter/plans/{plan}/lines/999999", SHELTER_WRITE, ok=(404,), body={"plot": None}),),
    # The first allowed role submits the draft plan; after that it is refused as already submitted.
    "api/v1/shelter/plans/<number>/submit": (
        post("/api/v1/shelter/plans/{plan}/submit", SHELTER_WRITE, ok=(200, 409)),),
    "api/v1/events": (get("/api/v1/events", EVENTS_READ),),
    "api/v1/scan/verify": (post("/api/v1/scan/verify", SCAN, ok=(200,),
                                body={"code": "not-a-card", "event": "{event:int}"}),),
    "api/v1/scan/redeem": (post("/api/v1/scan/redeem", SCAN, ok=(422,), body={
        "code": "not-a-card", "event": "{event:int}", "client_id": "matrix-redeem"}),),
    "api/v1/events/<event_id>/manifest": (get("/api/v1/events/{event}/manifest", SCAN),),
    "api/v1/scan/lookup": (get("/api/v1/scan/lookup?event={event}&q={household}", SCAN),),
    "api/v1/scan/exception": (post("/api/v1/scan/exception", SCAN, ok=(422,), body={
        "event": "{event:int}", "household": "HH-NONE-0", "client_id": "matrix-exception", "reason": "forgotten",
        "approver": {"username": "nobody", "pin": "000000"}}),),
    "api/v1/scan/replace-card": (post("/api/v1/scan/replace-card", SCAN, ok=(422,), body={
        "event": "{event:int}", "household": "HH-NONE-0", "reason": "lost"}),),
    "api/v1/events/<event_id>/sync": (post("/api/v1/events/{event}/sync", SCAN, ok=(200,),
                                           body={"redemptions": []}),),
    "api/v1/replenishment/plans": (
        get("/api/v1/replenishment/plans", PLAN_VIEWERS),
        post("/api/v1/replenishment/plans", PLANNERS, ok=(422,), body={"horizon_days": 14, "truck": "NO-SUCH"}),
    ),
    "api/v1/replenishment/plans/<number>": (get("/api/v1/replenishment/plans/{rplan}", PLAN_VIEWERS),),
    "api/v1/replenishment/plans/<number>/submit": (
        post("/api/v1/replenishment/plans/{rplan}/submit", PLANNERS, ok=(200, 409)),),
    "api/v1/replenishment/dashboard": (get("/api/v1/replenishment/dashboard", PLAN_VIEWERS),),
    "api/v1/replenishment/purchase-requests/<number>": (
        get("/api/v1/replenishment/purchase-requests/{pr}", PLAN_VIEWERS),),
    # A rejection with no reason: 422 naming the note, whoever the planner.
    "api/v1/replenishment/purchase-requests/<number>/decision": (
        post("/api/v1/replenishment/purchase-requests/{pr}/decision", PLANNERS, ok=(422,),
             body={"approve": False, "note": ""}),),
    "api/v1/accountability/feedback": (
        get("/api/v1/accountability/feedback", FEEDBACK_READERS),
        post("/api/v1/accountability/feedback", FEEDBACK_TAKERS, ok=(422,), body={
            "category": "gossip", "description": "x", "household": "{household}"}),
    ),
    "api/v1/accountability/feedback/<number>": (get("/api/v1/accountability/feedback/{case}", FEEDBACK_READERS),),
    "api/v1/accountability/feedback/<number>/actions": (
        post("/api/v1/accountability/feedback/{case}/actions", FEEDBACK_HANDLERS, ok=(422,), body={"action": "nope"}),),
    "api/v1/accountability/reports/reached": (get("/api/v1/accountability/reports/reached?site={site}",
                                                  DONOR_REPORT),),
    "api/v1/accountability/reports/4w": (get("/api/v1/accountability/reports/4w", DONOR_REPORT),),
    "api/v1/accountability/reports/donor-values": (
        get("/api/v1/accountability/reports/donor-values?grant={grant}", DONOR_REPORT),),
}


def _walk(patterns, prefix: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def url_routes() -> dict[str, set[str] | None]:
    """Every route outside the desk → the HTTP methods the API serves on it (None for Django views)."""
    routes: dict[str, set[str] | None] = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("desk/"):
            continue
        path_view = _ninja_path_view(pattern)
        if path_view is None:
            routes.setdefault(route, None)
        else:
            methods = {m for op in path_view.operations for m in op.methods}
            routes[route] = (routes.get(route) or set()) | methods
    return routes


def _ninja_path_view(pattern: URLPattern):
    from ninja.operation import PathView

    for cell in getattr(pattern.callback, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


@pytest.mark.smoke
def test_every_route_has_a_row():
    routes = url_routes()
    missing = sorted(set(routes) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(routes))
    assert not missing, f"routes with no row in MATRIX (say who may use them): {missing}"
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"
    for route, methods in routes.items():
        if methods is not None:
            checked = {c.method for c in MATRIX[route]}
            assert checked == methods, f"{route}: the API serves {sorted(methods)}, MATRIX checks {sorted(checked)}"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with matrix_samples.demo_data(django_db_blocker) as loaded:
        yield loaded


def _clients(users: dict[str, User]) -> dict[str, Client]:
    clients = {}
    for role in ROLES:
        client = Client(raise_request_exception=False, HTTP_HOST="localhost")
        if role != "anonymous":
            client.force_login(users[role])
        clients[role] = client
    return clients


def _fill(value, samples: dict[str, str]):
    """Put the samples into a URL or body; "{name:int}" gives the number itself."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith(":int}"):
            return int(samples[value[1:-5]])
        return value.format(**samples)
    if isinstance(value, dict):
        return {k: _fill(v, samples) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, samples) for v in value]
    return value


def _send(client: Client, check: Check, url: str, body, *, api: bool):
    send = getattr(client, check.method.lower())
    if check.method == "GET":
        return send(url)
    if api:
        return send(url) if body is None else send(url, body, content_type="application/json")
    return send(url, body or {})


def _expected(role: str, check: Check, *, api: bool) -> str:
    if role in check.allowed:
        return "/".join(str(s) for s in check.ok)
    if role == "anonymous":
        return "401" if api else "302→login"
    return "403"


def _verdict(role: str, check: Check, response, *, api: bool) -> bool:
    status = response.status_code
    if status >= 500:
        return False
    if role in check.allowed:
        return status in check.ok
    if role == "anonymous" and not api:
        return status == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    return status == (401 if role == "anonymous" and api else 403)


def _finish(response) -> None:
    # Reading a file response to its end closes it the way the test client means to; response.close() would
    # also send request_finished, whose handler closes the database connection (and this test's transaction).
    if response.streaming:
        b"".join(response.streaming_content)


def _problem(response) -> str:
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        return f"{exc_info[0].__name__}: {str(exc_info[1])[:120]}"
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        return response.content.decode(errors="replace")[:120]
    return ""


def _table(rows: list[tuple]) -> str:
    header = ("route", "method", "role", "expected", "got", "detail")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    return "\n".join(lines)


@pytest.mark.django_db
def test_url_matrix(demo):
    users, samples = demo
    clients = _clients(users)
    mismatches = []
    for route, checks in MATRIX.items():
        api = route.startswith("api/v1/") and route != "api/v1/docs"
        for check in checks:
            url = _fill(check.url, samples)
            body = _fill(check.body, samples)
            for role in ROLES:
                # A savepoint per request: one that breaks the transaction must not fail all after it.
                with transaction.atomic():
                    response = _send(clients[role], check, url, body, api=api)
                if not _verdict(role, check, response, api=api):
                    mismatches.append((route or "/", check.method, role, _expected(role, check, api=api),
                                       response.status_code, _problem(response)))
                _finish(response)
    table = _table(mismatches) if mismatches else ""
    print(table)
    assert not mismatches, f"{len(mismatches)} requests answered differently from MATRIX:\n{table}"


# The RQ dashboard lists every queued and failed job and can empty queues and stop jobs: operations work.
DESK_ADMIN_ONLY = {"django_rq.dashboard"}


@pytest.mark.django_db
def test_desk_matrix(demo):
    """Every desk list opens (200) or is refused (403) for each role, never 500; the outsider sees none,
    the Auditor may add nothing, anonymous is sent to log in; the job queues are for Administrators."""
    from django.contrib import admin

    users, _samples = demo
    clients = _clients(users)
    mismatches = []
    for model, _model_admin in sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label):
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        changelist, add = reverse(f"{name}_changelist"), reverse(f"{name}_add")
        admin_only = model._meta.label_lower in DESK_ADMIN_ONLY
        for role in ROLES:
            with transaction.atomic():
                response = clients[role].get(changelist)
            status = response.status_code
            if role == "anonymous":
                expected = (302,)
            elif role == "outsider" or (admin_only and role != "admin"):
                expected = (403,)
            elif admin_only:
                expected = (200,)
            else:
                expected = (200, 403)
            if status not in expected:
                mismatches.append((changelist, "GET", role, "/".join(map(str, expected)), status,
                                   _problem(response)))
        for role in ("auditor", "outsider"):
            with transaction.atomic():
                response = clients[role].get(add)
            if response.status_code != 403:
                mismatches.append((add, "GET", role, "403", response.status_code, _problem(response)))
    table = _table(mismatches) if mismatches else ""
    print(table)
    assert not mismatches, f"{len(mismatches)} desk requests answered wrongly:\n{table}"
