import sys
import time

from django.core.management.base import BaseCommand

from relief.core.scheduler import scheduler_tick


class Command(BaseCommand):
    help = "Enqueue periodic jobs (daily backups, expiry alerts, ...) when they fall due."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one tick and stop.")
        parser.add_argument("--interval", type=int, default=60)

    def handle(self, *args, once, interval, **options):
        while True:
            for name in scheduler_tick():
                self.stdout.write(f"enqueued {name}")
            if once:
                return
            sys.stdout.flush()
            time.sleep(interval)
