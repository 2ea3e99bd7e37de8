from django.core.management.base import BaseCommand

from relief.core import signing


class Command(BaseCommand):
    help = "Create a new card-signing key and make it active; older keys still verify."

    def handle(self, *args, **options):
        key = signing.key_create()
        self.stdout.write(f"new active key {key.kid.hex()} in {signing.keys_dir()}")
