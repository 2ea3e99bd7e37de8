"""The six roles, what each may do, and the checks every page, endpoint and command use.

Roles are Django groups (created by a data migration). Each package declares the
model permissions its roles need in ``relief.<package>.roles.GRANTS`` as
``{role: ["app_label.codename" patterns]}``; they are synced after every migrate.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

ADMINISTRATOR = "Administrator"
LOGISTICS_MANAGER = "Logistics Manager"
WAREHOUSE_STAFF = "Warehouse Staff"
DISTRIBUTION_TEAM = "Distribution Team"
REGISTRATION_OFFICER = "Registration Officer"
AUDITOR = "Auditor"

ALL_ROLES = [ADMINISTRATOR, LOGISTICS_MANAGER, WAREHOUSE_STAFF, DISTRIBUTION_TEAM, REGISTRATION_OFFICER, AUDITOR]

ROLE_DESCRIPTIONS = {
    ADMINISTRATOR: _("Sets up sites, users, keys and master data; may override checks with a recorded reason."),
    LOGISTICS_MANAGER: _("Plans replenishment, approves transfers and purchases, sees all stock."),
    WAREHOUSE_STAFF: _("Receives, stores, moves, kits, counts and issues stock in their warehouses."),
    DISTRIBUTION_TEAM: _("Runs distribution events at their sites: scans cards and hands over items."),
    REGISTRATION_OFFICER: _("Keeps the household registry, cards and shelter plots."),
    AUDITOR: _("Reads everything, changes nothing."),
}

# Demo/login names per role, as `relief demo` creates them.
DEMO_USERS = {
    "admin": ADMINISTRATOR,
    "manager": LOGISTICS_MANAGER,
    "warehouse": WAREHOUSE_STAFF,
    "distribution": DISTRIBUTION_TEAM,
    "registrar": REGISTRATION_OFFICER,
    "auditor": AUDITOR,
}

# Core's own grants; packages add theirs in their roles.py.
GRANTS: dict[str, list[str]] = {
    ADMINISTRATOR: ["*"],
    AUDITOR: ["*.view_*"],
    LOGISTICS_MANAGER: ["core.view_site", "core.view_block", "core.view_job"],
    WAREHOUSE_STAFF: ["core.view_site", "core.view_job"],
    DISTRIBUTION_TEAM: ["core.view_site", "core.view_block", "core.view_job"],
    REGISTRATION_OFFICER: ["core.view_site", "core.view_block", "core.view_job"],
}

# Auditors read the business record, not the secrets behind it, nor django-axes' login-attempt logs (usernames,
# sometimes passwords typed as usernames, addresses).
AUDITOR_EXCLUDED = ["auth.view_user", "auth.view_group", "core.view_apitoken", "sessions.*", "axes.*"]

# Cancelling a submitted document reverses what it posted: an authority decision (README "Who does what"),
# checked by core.services.document_cancel whichever door it comes through.
CANCEL_ROLES = (ADMINISTRATOR, LOGISTICS_MANAGER)


if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    #: Whoever makes a request: a signed-in user or an anonymous one.
    AnyUser = User | AnonymousUser


def role_names(user: AnyUser | None) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_relief_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ADMINISTRATOR)
        setattr(user, "_relief_roles", cached)  # noqa: B010 - a per-request cache on the user object
    return cached


def has_role(user: AnyUser | None, *roles: str) -> bool:
    return bool(role_names(user) & set(roles))


def require_role(user: AnyUser | None, *roles: str) -> None:
    """Refuse unless the user holds one of the roles."""
    if not has_role(user, *roles):
        raise PermissionDenied(_("This needs one of the roles: %(roles)s") % {"roles": ", ".join(roles)})


def all_grants() -> dict[str, list[str]]:
    grants: dict[str, list[str]] = {role: list(patterns) for role, patterns in GRANTS.items()}
    for app in settings.RELIEF_DOMAIN_APPS:
        try:
            module = import_module(f"relief.{app}.roles")
        except ModuleNotFoundError as exc:
            if exc.name != f"relief.{app}.roles":
                raise
            continue
        for role, patterns in getattr(module, "GRANTS", {}).items():
            grants.setdefault(role, []).extend(patterns)
    return grants


def _matches(codename: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(codename, pattern) for pattern in patterns)


def sync_role_permissions() -> None:
    from django.contrib.auth.models import Group, Permission

    permissions = list(Permission.objects.select_related("content_type"))
    for role, patterns in all_grants().items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = [
            p for p in permissions
            if _matches(f"{p.content_type.app_label}.{p.codename}", patterns)
            and not (role == AUDITOR and _matches(f"{p.content_type.app_label}.{p.codename}", AUDITOR_EXCLUDED))
        ]
        group.permissions.set(wanted)


def sync_role_permissions_signal(sender: Any, **kwargs: Any) -> None:
    # Permissions of every app exist only once the last installed app has migrated.
    if sender.name == settings.INSTALLED_APPS[-1]:
        sync_role_permissions()
