from django.core.management.base import BaseCommand, CommandError

from relief.core import signing


class Command(BaseCommand):
    help = "Retire a card-signing key that may have leaked: cards it signed verify as invalid (retired_key)."

    def add_arguments(self, parser):
        parser.add_argument("kid", help="the key id (16 hex digits), as a card's key id or `ls keys/` shows it")

    def handle(self, *args, kid, **options):
        try:
            retired = signing.key_retire(kid)
        except signing.SigningKeyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"key {retired.hex()} retired: cards it signed no longer verify; replace them "
                          "(desk: Cards, Replace) and print the new ones")
