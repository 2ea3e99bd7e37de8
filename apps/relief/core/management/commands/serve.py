import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the site with gunicorn (web process)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))

    def handle(self, *args, port, host, workers, **options):
        if not 0 < port < 65536:
            self.stderr.write(f"--port {port}: must be 1-65535")
            sys.exit(2)
        if settings.RELIEF_SITE:
            os.environ["RELIEF_SITE"] = settings.RELIEF_SITE
        argv = [
            sys.executable, "-m", "gunicorn", "relief.wsgi:application",
            "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", "4",
            "--timeout", "120", "--graceful-timeout", "20", "--access-logfile", "-",
            # Scanners pause between cards; a short keep-alive closes the connection just as it is reused.
            "--keep-alive", "75",
        ]
        os.execv(sys.executable, argv)
