from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from relief.core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the site (consistent database dump, site config, keys, files) into one dated archive."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=None,
                            help="Folder for the archive (default sites/NAME/backups)")

    def handle(self, *args, out, **options):
        try:
            archive = backup_create(site_config=settings.SITE_CONFIG, out_dir=out)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"backup written: {archive} ({archive.stat().st_size // 1024} KiB)")
