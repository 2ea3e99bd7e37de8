"""relief --site X lan-tls --host relief.camp --host 192.168.1.10: the site's local CA and HTTPS certificate."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from relief.core.lan_tls import lan_tls_issue


class Command(BaseCommand):
    help = "Make the site's local certificate authority (once) and an HTTPS certificate for its LAN names and IPs."

    def add_arguments(self, parser):
        parser.add_argument("--host", action="append", default=[], required=True,
                            help="a host name or IP address phones use to reach the site (repeat for each)")

    def handle(self, *args, host, **options):
        try:
            made = lan_tls_issue(folder=settings.SITE_CONFIG.tls_dir, hosts=host,
                                 organisation=settings.RELIEF_ORGANISATION or "Relief")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(("made the site's certificate authority " if made.ca_created else
                           "kept the site's certificate authority ") + str(made.ca_cert))
        self.stdout.write(f"  SHA-256 {made.ca_sha256}")
        self.stdout.write(f"server certificate for {', '.join(host)}: {made.server_cert}")
        self.stdout.write("next: relief serve --tls --host 0.0.0.0 --port 8443; phones open "
                          "https://<host>:8443/tls/ca.crt once and trust it (docs/deploy.md)")
