from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from relief.distribution.printing import print_cards


class Command(BaseCommand):
    help = "Print entitlement cards (ID-1, ten per A4 page, crop marks) to a PDF; issues missing cards."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--cycle", help="households entitled in this cycle (its number, e.g. DC-2026-00001)")
        group.add_argument("--households", help="comma-separated household numbers")
        group.add_argument("--site-code", help="every active household of a site, e.g. NYA")
        parser.add_argument("--out", required=True, help="the PDF file to write")
        parser.add_argument("--user", default="admin", help="recorded as who printed (default admin)")

    def handle(self, *args, cycle, households, site_code, out, user, **options):
        path = Path(out)
        if path.suffix.lower() != ".pdf":
            raise CommandError("--out: give a .pdf file name")
        if not path.parent.exists():
            raise CommandError(f"--out: folder {path.parent} does not exist")
        who = get_user_model().objects.filter(username=user).first()
        if who is None:
            raise CommandError(f"--user: no user '{user}'")
        numbers = [n.strip() for n in households.split(",") if n.strip()] if households else None
        if households is not None and not numbers:
            raise CommandError("--households: give at least one household number")
        try:
            result = print_cards(out=path, user=who, cycle=cycle, households=numbers,
                                 site=site_code.upper() if site_code else None,
                                 progress=lambda done, total: self.stdout.write(f"\r{done}/{total} cards", ending=""))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(f"{result['cards']} cards on {result['pages']} pages written to {path} "
                          f"(print batch {result['batch']})")
