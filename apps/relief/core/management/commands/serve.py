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
        parser.add_argument("--tls", action="store_true",
                            help="serve HTTPS with the certificate `relief lan-tls` made for the site")

    def handle(self, *args, port, host, workers, tls=False, **options):
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
        if tls:
            folder = settings.SITE_CONFIG.tls_dir
            if not (folder / "server.crt").exists():
                self.stderr.write(f"--tls: no certificate in {folder}: run `relief lan-tls --host NAME` first")
                sys.exit(2)
            argv += ["--certfile", str(folder / "server.crt"), "--keyfile", str(folder / "server.key")]
        os.execv(sys.executable, argv)
