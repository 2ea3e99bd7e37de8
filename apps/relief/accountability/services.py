"""Every change to feedback cases and PDM samples. One keyword-only function per action, one transaction.

A case moves open → assigned → referred → answered → closed (a step may be skipped, never gone back from
closed). Lock order: the case row only (taken after anything the caller locked in core's order).
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import NoReturn

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.accountability.models import (
    SENSITIVE_SUBJECTS,
    CaseStatus,
    Category,
    Channel,
    FeedbackCase,
    PdmInterview,
    PdmSample,
    Quality,
    Subject,
)
from relief.core.db import lock_rows, retry_on_deadlock
from relief.core.naming import naming_next
from relief.distribution.models import DistributionEvent, Redemption
from relief.households.models import Household
from relief.inventory.models import Item
from relief.shelter.models import Plot

MAX_TEXT = 4000


@dataclass(frozen=True)
class CaseRefs:
    """What a case is about, as the caller names it (codes and numbers); each is optional."""

    household: str = ""
    event: int | str | None = None
    item: str = ""
    plot: str = ""


@dataclass(frozen=True)
class Resolved:
    household: Household | None
    event: DistributionEvent | None
    item: Item | None
    plot: Plot | None


def _raise(errors: dict[str, str]) -> NoReturn:
    raise ValidationError({k: [v] for k, v in errors.items()})


def case_refs_resolve(refs: CaseRefs) -> Resolved:
    """Codes to rows, every unknown one named by its field at once."""
    errors: dict[str, str] = {}
    household = event = item = plot = None
    if refs.household:
        household = Household.objects.select_related("site").filter(number=refs.household.strip()).first()
        if household is None:
            errors["household"] = _("no household %(number)s") % {"number": refs.household}
    if refs.event not in (None, ""):
        try:
            event = DistributionEvent.objects.select_related("site").filter(pk=int(refs.event)).first()
        except (TypeError, ValueError):
            event = None
        if event is None:
            errors["event"] = _("no distribution event %(id)s") % {"id": refs.event}
    if refs.item:
        item = Item.objects.filter(code=refs.item.strip()).first()
        if item is None:
            errors["item"] = _("no item %(code)s") % {"code": refs.item}
    if refs.plot:
        site_id = household.site_id if household else event.site_id if event else None
        plots = Plot.objects.filter(code=refs.plot.strip())
        plot = plots.filter(site_id=site_id).first() if site_id else (plots.first() if plots.count() == 1 else None)
        if plot is None:
            errors["plot"] = _("no plot %(code)s (name the household or event for its site)") % {"code": refs.plot}
    if household and event and household.site_id != event.site_id:
        errors["event"] = _("the event is at another site than the household")
    if errors:
        _raise(errors)
    return Resolved(household=household, event=event, item=item, plot=plot)


def due_on(*, category: str, sensitive: bool, received: datetime.datetime) -> datetime.date:
    days = settings.RELIEF_FEEDBACK_DUE_DAYS["sensitive" if sensitive else category]
    return timezone.localtime(received).date() + datetime.timedelta(days=int(days))


def _clean_text(value: str, field: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        _raise({field: _("this field is required")})
    if len(text) > MAX_TEXT:
        _raise({field: _("at most %(n)d characters") % {"n": MAX_TEXT}})
    return text


@retry_on_deadlock
def case_open(*, user: User, category: str, description: str, refs: CaseRefs = CaseRefs(),
              subject: str = Subject.OTHER, channel: str = Channel.DESK, sensitive: bool = False,
              received_at: datetime.datetime | None = None, kobo_uuid: str | None = None) -> FeedbackCase:
    """Record a case; its site comes from what it is about, its due date from its category."""
    errors = {}
    if category not in Category.values:
        errors["category"] = _("one of %(choices)s") % {"choices": ", ".join(Category.values)}
    if subject not in Subject.values:
        errors["subject"] = _("one of %(choices)s") % {"choices": ", ".join(Subject.values)}
    if channel not in Channel.values:
        errors["channel"] = _("one of %(choices)s") % {"choices": ", ".join(Channel.values)}
    received_at = received_at or timezone.now()
    if received_at > timezone.now() + datetime.timedelta(minutes=5):
        errors["received_at"] = _("cannot be in the future")
    text = (description or "").strip()
    if not text or len(text) > MAX_TEXT:
        errors["description"] = _("say what was said, in at most %(n)d characters") % {"n": MAX_TEXT}
    try:
        found = case_refs_resolve(refs)
    except ValidationError as exc:
        errors.update({field: problems[0] for field, problems in exc.message_dict.items()})
    # Every problem at once, each named by its field.
    if errors:
        _raise(errors)
    description = text
    sensitive = bool(sensitive) or subject in SENSITIVE_SUBJECTS
    site = (found.household.site if found.household else found.event.site if found.event
            else found.plot.site if found.plot else None)
    with transaction.atomic():
        return FeedbackCase.objects.create(
            number=naming_next(series=f"FB-{timezone.localdate().year}-"), category=category, subject=subject,
            channel=channel, sensitive=sensitive, description=description, household=found.household,
            event=found.event, item=found.item, plot=found.plot, site=site, received_at=received_at,
            due_on=due_on(category=category, sensitive=sensitive, received=received_at), kobo_uuid=kobo_uuid,
            created_by=user)


def _locked(case: FeedbackCase) -> FeedbackCase:
    locked = lock_rows(FeedbackCase.objects.filter(pk=case.pk))[0]
    if locked.status == CaseStatus.CLOSED:
        raise ValidationError({"status": _("%(number)s is closed") % {"number": locked.number}})
    return locked


@retry_on_deadlock
def case_assign(*, case: FeedbackCase, user: User, assignee: User) -> FeedbackCase:
    if not assignee.is_active or not (assignee.is_superuser or assignee.groups.exists()):
        _raise({"assigned_to": _("assign to an active member of staff with a role")})
    with transaction.atomic():
        case = _locked(case)
        case.assigned_to = assignee
        fields = ["assigned_to"]
        if case.status == CaseStatus.OPEN:
            case.status = CaseStatus.ASSIGNED
            fields.append("status")
        case.save(update_fields=fields)
        return case


@retry_on_deadlock
def case_refer(*, case: FeedbackCase, user: User, referred_to: str) -> FeedbackCase:
    referred_to = _clean_text(referred_to, "referred_to", required=True)[:120]
    with transaction.atomic():
        case = _locked(case)
        case.referred_to = referred_to
        case.status = CaseStatus.REFERRED
        case.save(update_fields=["referred_to", "status"])
        return case


@retry_on_deadlock
def case_answer(*, case: FeedbackCase, user: User, answer: str) -> FeedbackCase:
    answer = _clean_text(answer, "answer", required=True)
    with transaction.atomic():
        case = _locked(case)
        case.answer = answer
        case.answered_at = timezone.now()
        case.status = CaseStatus.ANSWERED
        case.save(update_fields=["answer", "answered_at", "status"])
        return case


@retry_on_deadlock
def case_close(*, case: FeedbackCase, user: User, answer: str = "") -> FeedbackCase:
    """Close a case; a case never answered needs the answer given now (the household is always told)."""
    answer = _clean_text(answer, "answer", required=False)
    with transaction.atomic():
        case = _locked(case)
        if not (answer or case.answer):
            _raise({"answer": _("say what the household was told before closing")})
        fields = ["status", "closed_at", "closed_by"]
        if answer:
            case.answer, case.answered_at = answer, timezone.now()
            fields += ["answer", "answered_at"]
        case.status, case.closed_at, case.closed_by = CaseStatus.CLOSED, timezone.now(), user
        case.save(update_fields=fields)
        return case


@retry_on_deadlock
def case_resolve_by_handover(*, case: FeedbackCase, user: User, redemption: Redemption) -> FeedbackCase:
    """Close a non-receipt complaint with the hand-over that made it good.

    The hand-over must be the household's own, made after the complaint, and (when the complaint names an
    item) include that item.
    """
    with transaction.atomic():
        case = _locked(case)
        if case.subject != Subject.NON_RECEIPT:
            _raise({"subject": _("only a complaint of non-receipt is resolved by a hand-over")})
        if case.household_id is None or redemption.household_id != case.household_id:
            _raise({"redemption": _("the hand-over is not to this case's household")})
        if redemption.scanned_at < case.received_at:
            _raise({"redemption": _("the hand-over was made before the complaint")})
        if case.item_id and not redemption.lines.filter(item_id=case.item_id, qty_handed__gt=0).exists():
            _raise({"redemption": _("the hand-over does not include %(item)s") % {"item": case.item.code}})
        if FeedbackCase.objects.filter(resolved_by=redemption).exclude(pk=case.pk).exists():
            _raise({"redemption": _("this hand-over already resolved another case")})
        case.resolved_by = redemption
        case.answer = case.answer or _("Handed over at %(event)s (%(voucher)s).") % {
            "event": redemption.event.number, "voucher": redemption.voucher_no}
        now = timezone.now()
        case.answered_at = case.answered_at or now
        case.status, case.closed_at, case.closed_by = CaseStatus.CLOSED, now, user
        case.save(update_fields=["resolved_by", "answer", "answered_at", "status", "closed_at", "closed_by"])
        return case


CASE_ACTIONS = ("assign", "refer", "answer", "close", "resolve")


def case_action(*, case: FeedbackCase, user: User, action: str, assignee: str = "", referred_to: str = "",
                answer: str = "", redemption: int | str | None = None) -> FeedbackCase:
    """One step of a case named as the page and the API name it; each step is its own service above."""
    if action == "assign":
        found = User.objects.filter(username=(assignee or "")[:150], is_active=True).first()
        if found is None:
            _raise({"assigned_to": _("no active user by that name")})
        return case_assign(case=case, user=user, assignee=found)
    if action == "refer":
        return case_refer(case=case, user=user, referred_to=referred_to)
    if action == "answer":
        return case_answer(case=case, user=user, answer=answer)
    if action == "close":
        return case_close(case=case, user=user, answer=answer)
    if action == "resolve":
        try:
            pk = int(redemption or 0)
        except (TypeError, ValueError):
            pk = 0
        found = Redemption.objects.select_related("event").filter(pk=pk, household_id=case.household_id).first() \
            if case.household_id else None
        if found is None:
            _raise({"redemption": _("choose a hand-over to this household after the complaint")})
        return case_resolve_by_handover(case=case, user=user, redemption=found)
    _raise({"action": _("one of %(choices)s") % {"choices": ", ".join(CASE_ACTIONS)}})


# KoboToolbox feedback form: question name → case field (group paths are stripped to the last part).
KOBO_FIELDS = {"category": "category", "subject": "subject", "description": "description",
               "household": "household", "household_number": "household", "event": "event", "item": "item",
               "plot": "plot", "sensitive": "sensitive"}
TRUE_WORDS = {"1", "yes", "true", "ndiyo", "oui"}


def cases_import_kobo(*, user: User, rows: list[dict]) -> dict[str, int]:
    """Cases from a Kobo feedback export: all rows or none; a row already imported (same _uuid) is skipped.

    Every bad row is reported at once as ``row N: field: problem``.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    known = set(FeedbackCase.objects.filter(kobo_uuid__in=[str(r.get("_uuid", "")) for r in rows])
                .values_list("kobo_uuid", flat=True))
    made = skipped = 0
    with transaction.atomic():
        for n, raw in enumerate(rows, start=2):
            row = {key.rsplit("/", 1)[-1].strip(): ("" if value is None else str(value).strip())
                   for key, value in raw.items() if key}
            uuid = row.get("_uuid", "")
            if not uuid:
                errors[f"row {n}"].append("_uuid: " + _("missing"))
                continue
            if uuid in known:
                skipped += 1
                continue
            fields = {target: row.get(source, "") for source, target in KOBO_FIELDS.items() if row.get(source)}
            received = None
            if row.get("_submission_time"):
                try:
                    received = datetime.datetime.fromisoformat(row["_submission_time"])
                    if timezone.is_naive(received):
                        received = timezone.make_aware(received, datetime.UTC)
                except ValueError:
                    errors[f"row {n}"].append("_submission_time: " + _("not a date and time"))
                    continue
            try:
                with transaction.atomic():
                    case_open(user=user, category=fields.get("category", ""),
                              subject=fields.get("subject") or Subject.OTHER,
                              description=fields.get("description", ""), channel=Channel.KOBO,
                              sensitive=fields.get("sensitive", "").lower() in TRUE_WORDS, received_at=received,
                              kobo_uuid=uuid[:64],
                              refs=CaseRefs(household=fields.get("household", ""), event=fields.get("event"),
                                            item=fields.get("item", ""), plot=fields.get("plot", "")))
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    errors[f"row {n}"].extend(f"{field}: {m}" for m in messages)
                continue
            known.add(uuid)
            made += 1
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ValidationError(dict(errors))
    return {"imported": made, "skipped": skipped}


# --- post-distribution monitoring --------------------------------------------------------------------

def size_band(size: int) -> str:
    return "1-2" if size <= 2 else "3-5" if size <= 5 else "6+"


def pdm_draw(*, event: DistributionEvent, size: int, seed: int | None = None) -> tuple[list[dict], dict]:
    """The draw itself, without saving: households served at the event, stratified by block and household
    size, each stratum drawn in proportion (largest remainders), in a random order fixed by the seed.

    The population is listed in a fixed order (stratum, then redemption id), so the same seed over the same
    hand-overs gives the same draw on any machine.
    """
    served = list(Redemption.objects.filter(event=event).order_by("pk")
                  .values_list("pk", "household_id", "household__block__code", "household__size"))
    seen: set[int] = set()
    strata: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for pk, household_id, block, hh_size in served:
        if household_id in seen:
            continue
        seen.add(household_id)
        strata[f"{event.site.code}/{block or '-'}/{size_band(hh_size)}"].append((pk, household_id))
    population = sum(len(v) for v in strata.values())
    size = min(size, population)
    # Proportional allocation, remainders to the largest fractions (ties by stratum name): reproducible.
    quotas = {name: size * len(rows) // population for name, rows in strata.items()} if population else {}
    left = size - sum(quotas.values())
    by_remainder = sorted(strata, key=lambda name: (-(size * len(strata[name]) % population), name))
    for name in by_remainder[:left]:
        quotas[name] += 1
    rng = random.Random(seed)
    drawn = []
    for name in sorted(strata):
        for pk, household_id in rng.sample(strata[name], quotas[name]):
            drawn.append({"redemption": pk, "household": household_id, "stratum": name})
    summary = {name: {"served": len(strata[name]), "drawn": quotas[name]} for name in sorted(strata)}
    return drawn, {"population": population, "strata": summary}


@retry_on_deadlock
def pdm_sample_create(*, event: DistributionEvent, user: User, size: int, seed: int | None = None) -> PdmSample:
    if not isinstance(size, int) or not 1 <= size <= 5000:
        _raise({"size": _("a whole number from 1 to 5000")})
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**53)
    elif not 0 <= seed < 2**63:
        _raise({"seed": _("a whole number from 0 to 2⁶³−1")})
    drawn, summary = pdm_draw(event=event, size=size, seed=seed)
    if not drawn:
        _raise({"event": _("nobody has been served at %(number)s yet") % {"number": event.number}})
    with transaction.atomic():
        sample = PdmSample.objects.create(
            number=naming_next(series=f"PDM-{timezone.localdate().year}-"), event=event, seed=seed,
            size=len(drawn), population=summary["population"], strata=summary["strata"], created_by=user)
        PdmInterview.objects.bulk_create([
            PdmInterview(sample=sample, redemption_id=d["redemption"], household_id=d["household"],
                         stratum=d["stratum"], position=n) for n, d in enumerate(drawn, start=1)])
        return sample


def _yes_no(value: str, field: str) -> bool | None:
    word = value.strip().lower()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in {"0", "no", "false", "hapana", "non"}:
        return False
    raise ValidationError({field: [_("yes or no")]})


def pdm_answers_import(*, sample: PdmSample, user: User, rows: list[dict]) -> dict[str, int]:
    """Answers from the enumerators' Kobo export, matched on the household number; all rows or none."""
    errors: dict[str, list[str]] = defaultdict(list)
    interviews = {i.household.number: i for i in sample.interviews.select_related("household")}
    done = 0
    with transaction.atomic():
        locked = {i.pk for i in lock_rows(PdmInterview.objects.filter(sample=sample))}
        for n, raw in enumerate(rows, start=2):
            row = {key.rsplit("/", 1)[-1].strip(): ("" if value is None else str(value).strip())
                   for key, value in raw.items() if key}
            interview = interviews.get(row.get("household", ""))
            if interview is None or interview.pk not in locked:
                errors[f"row {n}"].append("household: " + _("not in sample %(number)s") % {
                    "number": sample.number})
                continue
            try:
                interview.received_all = _yes_no(row.get("received_all", ""), "received_all")
                interview.felt_safe = _yes_no(row.get("felt_safe", ""), "felt_safe")
                quality = row.get("quality", "").lower()
                if quality and quality not in Quality.values:
                    raise ValidationError({"quality": [", ".join(Quality.values)]})
                interview.quality = quality
                minutes = row.get("minutes_waited", "")
                if minutes and (not minutes.isdigit() or int(minutes) > 24 * 60):
                    raise ValidationError({"minutes_waited": [_("whole minutes, at most a day")]})
                interview.minutes_waited = int(minutes) if minutes else None
                day = row.get("interview_date") or row.get("today") or ""
                interview.interviewed_on = datetime.date.fromisoformat(day[:10]) if day else None
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    errors[f"row {n}"].extend(f"{field}: {m}" for m in messages)
                continue
            except ValueError:
                errors[f"row {n}"].append("interview_date: " + _("not a date"))
                continue
            interview.kobo_uuid = row.get("_uuid") or interview.kobo_uuid
            interview.save(update_fields=["received_all", "felt_safe", "quality", "minutes_waited",
                                          "interviewed_on", "kobo_uuid"])
            done += 1
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ValidationError(dict(errors))
    return {"answered": done}

