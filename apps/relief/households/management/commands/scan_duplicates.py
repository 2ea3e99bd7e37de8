from django.core.management.base import BaseCommand, CommandError

from relief.households import duplicates


class Command(BaseCommand):
    help = "Look for households registered twice and record the pairs for review in the desk."

    def add_arguments(self, parser):
        parser.add_argument("--threshold", type=float, default=duplicates.THRESHOLD)

    def handle(self, *args, threshold, **options):
        if not 0.3 <= threshold <= 1:
            raise CommandError("--threshold: give 0.3 to 1")
        result = duplicates.scan(threshold=threshold)
        self.stdout.write(f"{result['households']} households, {result['pairs_compared']} pairs compared, "
                          f"{result['candidates_new']} new candidates in {result['seconds']} s")
