"""Demo feedback and monitoring: cases as a Nyarugusu help desk sees them in a distribution week (one overdue,
one sensitive, a non-receipt complaint closed by a hand-over), and a PDM sample of the Nyarugusu event."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from relief.accountability import services
from relief.accountability.models import FeedbackCase, Subject
from relief.distribution.models import DistributionEvent, Redemption
from relief.households.models import Household


def load(*, households: int, stdout) -> None:
    if FeedbackCase.objects.exists():
        stdout.write("accountability demo: already loaded")
        return
    admin = User.objects.filter(username="admin").first() or User.objects.filter(is_superuser=True).first()
    registrar = User.objects.filter(username="registrar").first() or admin
    team = User.objects.filter(username="distribution").first() or admin
    event = DistributionEvent.objects.filter(site__code="NYA").order_by("pk").first()
    # A household not served yet, at a site with an event: its non-receipt complaint stays open.
    waiting = Household.objects.filter(status="active", site__code__in=DistributionEvent.objects.values(
        "site__code")).exclude(pk__in=Redemption.objects.values("household_id")).order_by("pk").first()
    served = list(Redemption.objects.filter(event=event).select_related("household").order_by("pk")[:2]) \
        if event else []
    if admin is None or event is None or waiting is None or len(served) < 2:
        stdout.write("accountability demo: skipped (needs the distribution demo)")
        return
    ten_days_ago = timezone.now() - datetime.timedelta(days=10)
    services.case_open(user=team, category="complaint", subject=Subject.DAMAGED, channel="table",
                       description="Jerrycan leaks at the seam; asks for a replacement.",
                       refs=services.CaseRefs(household=served[0].household.number, event=event.pk,
                                              item="JERRYCAN-20"), received_at=ten_days_ago)
    services.case_open(user=registrar, category="question", subject=Subject.ELIGIBILITY, channel="desk",
                       description="Asks when the new-born will be added to the household card.",
                       refs=services.CaseRefs(household=served[1].household.number))
    services.case_open(user=registrar, category="request", subject=Subject.SHELTER, channel="hotline",
                       description="Asks for a plot nearer the water point for an older member who cannot walk far.",
                       refs=services.CaseRefs(household=waiting.number))
    waiting_event = DistributionEvent.objects.filter(site_id=waiting.site_id).order_by("pk").first()
    services.case_open(user=team, category="complaint", subject=Subject.CONDUCT, channel="table", sensitive=True,
                       description="Reports that a volunteer asked for money to skip the queue.",
                       refs=services.CaseRefs(event=event.pk))
    services.case_open(user=team, category="appreciation", channel="table",
                       description="Thanks the team for the shade and water in the waiting area.",
                       refs=services.CaseRefs(event=event.pk))
    complaint = services.case_open(
        user=registrar, category="complaint", subject=Subject.NON_RECEIPT, channel="desk",
        description="Was not on the list at the table; did not receive the kit.",
        refs=services.CaseRefs(household=waiting.number, event=waiting_event.pk))
    services.case_assign(case=complaint, user=admin, assignee=registrar)
    sample = services.pdm_sample_create(event=event, user=admin, size=5, seed=20260417)
    stdout.write(f"demo: {FeedbackCase.objects.count()} feedback cases (one overdue, one sensitive), PDM sample "
                 f"{sample.number} of {sample.size} households at {event.number} (seed {sample.seed})")
