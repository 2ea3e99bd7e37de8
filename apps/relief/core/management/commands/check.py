import sys

from django.core.management.base import BaseCommand

from relief.core.checks import run_integrity_checks


class Command(BaseCommand):
    help = "Check the site's integrity (ledger invariants, keys, roles); exits 1 naming each violation."

    def handle(self, *args, **options):
        violations = run_integrity_checks()
        for violation in violations:
            self.stdout.write(f"VIOLATION: {violation}")
        if violations:
            self.stdout.write(f"{len(violations)} violation(s)")
            sys.exit(1)
        self.stdout.write("ok: no violations")
