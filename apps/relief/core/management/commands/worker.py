import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from relief.core.jobs import queue_name


class Command(BaseCommand):
    help = "Run an RQ worker for this site's queues (short, default, long)."

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", default=list(settings.RELIEF_QUEUES))
        parser.add_argument("--burst", action="store_true", help="Stop when the queues are empty.")

    def handle(self, *args, queues, burst, **options):
        if not settings.RELIEF_REDIS_URL:
            self.stderr.write("redis_url is not set for this site: jobs run in the web process, no worker needed")
            sys.exit(2)
        try:
            names = [queue_name(q) for q in queues]
        except ValueError as exc:
            self.stderr.write(str(exc))
            sys.exit(2)
        call_command("rqworker", *names, burst=burst, with_scheduler=False,
                     worker_class="relief.core.jobs.ReliefWorker")
