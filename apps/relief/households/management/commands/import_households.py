from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from relief.households.importer import MODES, ImportFileError, Mapping, run_import

SHOWN = 50


class Command(BaseCommand):
    help = "Import households from a KoboToolbox export (XLSX/CSV) or a plain spreadsheet, through a mapping file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx or .csv file")
        parser.add_argument("--mapping", default="kobo_example",
                            help="mapping JSON file, or kobo_example / plain_example (default kobo_example)")
        parser.add_argument("--dry-run", action="store_true", help="validate and report only; write nothing")
        parser.add_argument("--mode", choices=MODES, default="all",
                            help="all: import only if every household is valid; valid: import the valid ones")
        parser.add_argument("--camp", default=None, help="site code for rows that name none, e.g. NYA")
        parser.add_argument("--user", default=None, help="username recorded in the history (default: none)")

    def handle(self, *args, file, mapping, dry_run, mode, camp, user, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"file: {path} does not exist")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"--user: no user named {user!r}")

        def progress(stage: str, done: int, total: int) -> None:
            if total and (done == total or done % 5000 == 0):
                self.stdout.write(f"  {stage}: {done}/{total}")

        try:
            result = run_import(path=path, mapping=Mapping.load(mapping), user=actor, site_ids=None, mode=mode,
                                dry_run=dry_run, default_site=camp, progress=progress)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for problem in result.problems[:SHOWN]:
            self.stdout.write(f"{problem.sheet} row {problem.row} [{problem.column}]: {problem.message}")
        if len(result.problems) > SHOWN:
            self.stdout.write(f"... and {len(result.problems) - SHOWN} more problems")
        if result.report:
            self.stdout.write(f"report: {result.report}")
        summary = result.as_dict()
        self.stdout.write(
            f"households in file: {summary['households_in_file']}, valid: {summary['households_valid']}, "
            f"with problems: {summary['households_invalid']}")
        if result.counts:
            self.stdout.write(
                ("would create" if dry_run else "created") + f" {summary['households_new']} households, "
                + ("would update" if dry_run else "updated") + f" {summary['households_updated']}"
                + ("" if dry_run else f", unchanged {summary['households_unchanged']}, "
                   f"members new {summary['members_new']}, updated {summary['members_updated']}"))
        if not dry_run and not result.committed:
            raise CommandError("nothing imported: fix the problems, or use --mode valid to import the valid households")
