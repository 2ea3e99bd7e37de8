"""The API fuzzed from its own OpenAPI schema (schemathesis): whatever a scanner or a script sends, the
answer is never a 5xx, and a 2xx answer has the shape the schema promises.

Each operation gets a bounded number of generated requests (valid and invalid bodies, query strings and
path values) with an Administrator's bearer token, so the handlers behind the role checks are reached.
Random path values mostly name nothing, so every generated request that has path parameters is sent a
second time naming real demo objects (a household, a plan, an event...), with the same generated body and
query: that is where a handler meets bad input on a real record.
"""

from __future__ import annotations

import json
import typing

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests import matrix_samples

EXAMPLES = 5
CHECKS = [not_a_server_error, response_schema_conformance]

# Loaded once when the module is collected (the schema endpoint needs no database). Not through
# schemathesis.pytest.from_fixture: under pytest 9 its lazy runner fails on `Function._nodeid`.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with matrix_samples.demo_data(django_db_blocker) as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _keep_test_connection():
    # As Django's test client does: a request must not close the connection that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(demo, db):
    from relief.core.services import api_token_create

    users, _samples = demo
    _token, raw = api_token_create(user=users["admin"], name="fuzz", days=1)
    return raw


@pytest.fixture
def real_paths(demo) -> dict:
    """Path parameter → a real value, by the path's first segment where the same name means different things."""
    _users, s = demo
    return {
        "code": s["site"], "plot": s["plot"], "event_id": s["event"], "line_no": "1",
        "number": {"households": s["household"], "stock-entries": s["entry"], "waybills": s["waybill"],
                   "shelter/allocations": s["allocation_ended"], "shelter/plans": s["plan"],
                   "replenishment/plans": s["rplan"]},
    }


def _real(path: str, name: str, real_paths: dict) -> str | None:
    value = real_paths.get(name)
    if isinstance(value, dict):
        tail = path.removeprefix("/api/v1/")
        return next((v for prefix, v in value.items() if tail.startswith(prefix + "/")), None)
    return value


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_answers_without_server_errors(case, admin_token, real_paths):
    headers = {"Authorization": f"Bearer {admin_token}"}
    # A savepoint per request: a handler that breaks the transaction shows as its own 500, not the next ones'.
    with transaction.atomic():
        response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
    if case.path_parameters:
        real = {name: _real(case.operation.path, name, real_paths) for name in case.path_parameters}
        if all(real.values()):
            case.path_parameters = real
            with transaction.atomic():
                response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)


NESTED = "[" * 100_000 + "]" * 100_000  # a body nested past Python's recursion limit
HUGE = 10**20  # past MariaDB's BIGINT: a number a client may send, and no database can take
# Numbers at the edges, found by the fuzzer or beside what it found: each must be refused or answered, never a 500.
EDGES = [
    ("POST", "/api/v1/replenishment/plans", {"horizon_days": -1_000_000}),
    ("POST", "/api/v1/replenishment/plans", {"horizon_days": HUGE}),
    ("GET", f"/api/v1/shelter/sites/{{site}}/plots?offset={HUGE}", None),
    ("GET", f"/api/v1/shelter/sites/{{site}}/plots?limit=5000&offset={HUGE}", None),
    ("GET", f"/api/v1/shelter/sites/{{site}}/waiting?offset={HUGE}", None),
    ("GET", f"/api/v1/shelter/plans/{{plan}}?offset={HUGE}", None),
    ("GET", f"/api/v1/households?limit={HUGE}&offset={HUGE}", None),
    ("GET", f"/api/v1/events/{HUGE}/manifest", None),
    ("POST", "/api/v1/scan/verify", {"code": "x", "event": HUGE}),
    ("POST", "/api/v1/auth/token", {"username": "admin", "password": "x", "days": HUGE}),
    ("PATCH", f"/api/v1/shelter/plans/{{plan}}/lines/{HUGE}", {"plot": None}),
    ("GET", f"/shelter/plans/{{plan}}/?offset={HUGE}", None),
    ("GET", f"/shelter/{{site}}/waiting/?show={HUGE}", None),
    ("GET", f"/inventory/expiring/?days={HUGE}", None),
    # issue 13: the malformed inputs a tester found answered with a 500.
    ("GET", "/shelter/{site}/waiting/?show=²", None),
    ("GET", "/shelter/plans/{plan}/?offset=²", None),
    ("GET", "/inventory/donor-report/?start=2026-02-30&end=9999-99-99", None),
    ("GET", "/reports/reached/?start=2026-02-30", None),
    ("GET", "/api/v1/accountability/reports/reached?start=2026-02-30", None),
    ("POST", "/api/v1/events/{event}/sync",
     {"redemptions": [{"client_id": "fz-1", "code": "x", "scanned_at": "0001-01-01T00:00:00+03:00"}]}),
    ("POST", "/api/v1/events/{event}/sync",
     {"redemptions": [{"client_id": "fz-2", "code": "x", "scanned_at": "9999-12-31T23:59:59"}]}),
    ("POST", "/api/v1/events/{event}/sync", {"redemptions": [{"client_id": "fz-3", "code": "x", "lines": [
        {"item": "BLK", "qty": 1.5}], "scanned_at": "2026-01-01T00:00:00"}, 7, None, "x"]}),
    ("POST", "/api/v1/scan/verify", NESTED),
    ("POST", "/api/v1/events/{event}/sync", NESTED),
    ("POST", "/api/v1/households", NESTED),
]


@pytest.mark.django_db
def test_numbers_at_the_edges_are_refused_not_500(demo):
    from django.test import Client

    users, samples = demo
    client = Client(raise_request_exception=False)
    client.force_login(users["admin"])
    failures = []
    for method, url, body in EDGES:
        url = url.format(**samples)
        with transaction.atomic():
            if body is None:
                response = getattr(client, method.lower())(url)
            else:
                data = body if isinstance(body, str) else json.dumps(body)
                response = getattr(client, method.lower())(url, data, content_type="application/json")
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            failures.append(f"{method} {url} {json.dumps(body)[:80] if body else ''} → {response.status_code} "
                            f"{type(exc[1]).__name__ + ': ' + str(exc[1])[:100] if exc else ''}")
    assert not failures, "server errors:\n" + "\n".join(failures)


def _schema_classes(annotation, found: set) -> None:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in found:
            return
        found.add(annotation)
        for field in annotation.model_fields.values():
            _schema_classes(field.annotation, found)
    for arg in typing.get_args(annotation):
        _schema_classes(arg, found)


def test_schema_names_are_unique():
    """The OpenAPI document names each body and answer shape by its class name; two different classes with
    one name collapse into one component, and the document then shows one package's shape for the other's
    endpoints (and the fuzzer above sends and checks the wrong shapes)."""
    from relief.api import api

    found: set = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in [*operation.models, *(operation.response_models or {}).values()]:
                    _schema_classes(model, found)
    shapes: dict[str, dict[str, list[str]]] = {}
    for cls in found:
        if cls.__module__.startswith("relief."):
            shape = json.dumps(cls.model_json_schema(), sort_keys=True)
            shapes.setdefault(cls.__name__, {}).setdefault(shape, []).append(cls.__module__)
    clashes = {name: sorted(m for modules in by_shape.values() for m in modules)
               for name, by_shape in shapes.items() if len(by_shape) > 1}
    assert not clashes, f"different API schemas share a name (rename one of each): {clashes}"
