import secrets

from django.core.management.base import BaseCommand, CommandError

from relief.core.demo import demo_load


class Command(BaseCommand):
    help = "Load demo data: one user per role, then each package's demo data."

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, default=500)
        parser.add_argument("--password", default=None)

    def handle(self, *args, households, password, **options):
        if households < 0 or households > 200_000:
            raise CommandError("--households: give 0 to 200000")
        if password is not None and len(password) < 8:
            raise CommandError("--password: at least 8 characters")
        shown = password or secrets.token_urlsafe(9)
        demo_load(households=households, password=shown, stdout=self.stdout)
        self.stdout.write("demo logins (username / password):")
        from relief.core.roles import DEMO_USERS

        for username, role in DEMO_USERS.items():
            self.stdout.write(f"  {username:<13} {shown}   ({role})")
