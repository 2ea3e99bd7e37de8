from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from relief.core.services import api_token_create


class Command(BaseCommand):
    help = "Issue an API token for a scanner device or integration; the token is shown once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="the device or purpose, e.g. 'NYA lane 3 phone'")
        parser.add_argument("--event", type=int, default=None, help="limit the token to one distribution event id")
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, username, name, event, days, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user '{username}'")
        try:
            token, raw = api_token_create(user=user, name=name, days=days, event_id=event)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"token for {username} ({name}), expires {token.expires_at:%Y-%m-%d}:\n{raw}")
