from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from relief.core.files import private_write
from relief.replenishment import services
from relief.replenishment.export import plan_workbook
from relief.replenishment.models import LineKind, Truck


class Command(BaseCommand):
    help = ("Plan replenishment: what the coming distributions need against what is where; keeps the plan as a "
            "draft (submit it in the desk or on the plans page) and can write it as XLSX.")

    def add_arguments(self, parser):
        parser.add_argument("--horizon-days", type=int, default=services.DEFAULT_HORIZON_DAYS,
                            help="Days from today to plan for (default %(default)s)")
        parser.add_argument("--truck", help="Truck name (default: the default truck)")
        parser.add_argument("--out", help="Write the plan to this .xlsx file")

    def handle(self, *args, horizon_days, truck, out, **options):
        truck_obj = None
        if truck:
            truck_obj = Truck.objects.filter(name=truck).first()
            if truck_obj is None:
                names = ", ".join(Truck.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"--truck: unknown truck '{truck}' (known: {names})")
        if out and not out.lower().endswith(".xlsx"):
            raise CommandError("--out: give a file name ending in .xlsx")
        try:
            plan = services.plan_create(user=None, horizon_days=horizon_days, truck=truck_obj)
        except ValidationError as exc:
            problems = [m for messages in exc.message_dict.values() for m in messages]
            if len(problems) == 1 and exc.message_dict.get("horizon_days"):
                raise CommandError(f"--horizon-days: {problems[0]}") from exc
            raise CommandError("cannot plan:\n  - " + "\n  - ".join(problems)) from exc
        counts = plan.summary["lines"]
        trucks = sum(load["trucks"] for load in plan.summary["loads"])
        self.stdout.write(
            f"{plan.number} (draft) {plan.horizon_start} → {plan.horizon_end}: "
            f"{counts.get('shortfall', 0)} shortfalls, {counts.get('transfer', 0)} transfer lines on {trucks} "
            f"truck(s), {counts.get('purchase', 0)} purchases, {counts.get('expiring', 0)} expiring, "
            f"solved in {plan.summary['seconds']} s")
        for line in plan.lines.filter(kind__in=[LineKind.SHORTFALL, LineKind.TRANSFER, LineKind.PURCHASE]).order_by(
                "pk"):
            self.stdout.write(f"  {line.get_kind_display():9} {line.explanation}")
        if out:
            private_write(Path(out), plan_workbook(plan))
            self.stdout.write(f"written {out}")
