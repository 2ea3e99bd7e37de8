"""The JSON API (``/api/v1/``, OpenAPI at ``/api/v1/docs``).

Scanner devices and integrations send ``Authorization: Bearer <token>`` from
``POST /api/v1/auth/token``; pages of the app itself use their session (with CSRF).
Each domain package adds its ``router`` from ``relief.<package>.api``.
"""

from __future__ import annotations

import logging

from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.views import openapi_view
from ninja.security import APIKeyCookie, HttpBearer

from relief.core import services as core_services
from relief.core.documents import DocumentError
from relief.core.plugins import domain_modules

logger = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = core_services.api_token_user(token)
        if user is not None:
            request.user = user
        return user


class Session(APIKeyCookie):
    """The logged-in desk user, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # A request that brings a bearer token is judged by it alone: a bad token is a 401, not a CSRF refusal.
        if "authorization" in request.headers:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None):
        if key is None:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


def _docs_for_signed_in_users(view):
    """The docs page (Swagger UI, served from Relief's own static files: no CDN) is for signed-in users; the
    schema itself stays open to scanners and scripts, as the endpoints it lists check every caller."""
    if getattr(view, "func", None) is not openapi_view:
        return view
    return login_required(view)


api = NinjaAPI(
    title="Relief API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs",
    docs_decorator=_docs_for_signed_in_users,
    auth=[BearerToken(), Session()],
)


class ApiError(Schema):
    detail: str


@api.exception_handler(PermissionDenied)
def _permission_denied(request, exc):
    return api.create_response(request, {"detail": str(exc) or _("Permission denied")}, status=403)


@api.exception_handler(ObjectDoesNotExist)
def _not_found(request, exc):
    # An access helper's unknown key.
    return api.create_response(request, {"detail": str(exc) or _("Not found")}, status=404)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_unavailable(request, exc):
    # A scanner retries on 503 (or falls back to its offline check); the error itself is in the server log.
    logger.exception("database unavailable during %s %s", request.method, request.path)
    return api.create_response(
        request, {"detail": _("The database is not answering; try again in a moment.")}, status=503)


@api.exception_handler(DocumentError)
def _document_error(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(ValidationError)
def _django_validation(request, exc):
    detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()) if hasattr(
        exc, "error_dict") else " ".join(exc.messages)
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(NinjaValidationError)
def _body_validation(request, exc):
    # Name each bad field by its path in the body, e.g. "lines.0.qty".
    problems = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        problems.append({"field": ".".join(loc), "message": err.get("msg", "")})
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return api.create_response(request, {"detail": detail, "errors": problems}, status=422)


class TokenIn(Schema):
    username: str
    password: str
    name: str = "api"
    days: int = 30


class TokenOut(Schema):
    token: str
    expires_at: str


@api.post("/auth/token", auth=None, response={200: TokenOut, 401: ApiError, 422: ApiError}, tags=["auth"])
def auth_token(request, payload: TokenIn):
    """Exchange a username and password for a bearer token."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None or not user.is_active:
        return Status(401, {"detail": _("wrong username or password")})
    try:
        token, raw = core_services.api_token_create(user=user, name=payload.name, days=payload.days)
    except ValueError as exc:
        return Status(422, {"detail": str(exc)})
    return Status(200, {"token": raw, "expires_at": token.expires_at.isoformat()})


class MeOut(Schema):
    username: str
    roles: list[str]


@api.get("/me", response=MeOut, tags=["auth"])
def me(request):
    from relief.core.roles import role_names

    return {"username": request.user.get_username(), "roles": sorted(role_names(request.user))}


for _module in domain_modules("api"):
    if hasattr(_module, "router"):
        api.add_router("/", _module.router)
