"""`relief check`: integrity of the site. Each package adds ``relief.<package>.checks.run()``."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from relief.core import signing
from relief.core.plugins import domain_modules
from relief.core.roles import ALL_ROLES


def core_checks() -> list[str]:
    problems = []
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        problems.append(f"{len(pending)} migration(s) not applied: run `relief --site <site> migrate`")
        return problems
    missing = set(ALL_ROLES) - set(Group.objects.filter(name__in=ALL_ROLES).values_list("name", flat=True))
    for role in sorted(missing):
        problems.append(f"role group '{role}' is missing")
    try:
        key = signing.active_key()
        kid, signature = signing.sign(b"relief-check")
        if not signing.verify(kid, b"relief-check", signature):
            problems.append(f"signing key {key.kid.hex()} does not verify its own signature")
    except signing.SigningKeyError as exc:
        problems.append(f"card-signing key: {exc}")
    return problems


def run_integrity_checks() -> list[str]:
    problems = core_checks()
    if problems:
        return problems
    for module in domain_modules("checks"):
        problems.extend(module.run())
    return problems
