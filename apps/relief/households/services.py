"""Every change to the registry: register, update, members, heads, status, collectors, merge.

Each function is one transaction that locks the household rows it changes (sorted by id, through
``relief.core.db.lock_rows``) and then keeps ``size`` and the head-derived vulnerabilities in step
with the active members. Bad input raises ``ValidationError`` keyed by field, with nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.db import lock_rows, retry_on_deadlock
from relief.core.naming import naming_next
from relief.households.models import (
    AlternateCollector,
    DuplicateCandidate,
    DuplicateStatus,
    Household,
    HouseholdStatus,
    Member,
    Relationship,
)
from relief.households.signals import household_merged
from relief.households.validation import Places, clean_household, clean_member, head_problems

DERIVED_FIELDS = ["size", "female_headed", "child_headed", "older_person_headed"]
CHILD_UNDER = 18
OLDER_FROM = 60


def number_series(site) -> str:
    return f"HH-{site.code}-"


def derive_household(household: Household, members: Sequence[Member], *, today: date | None = None) -> None:
    """Size and head-derived vulnerabilities from the household's active members."""
    today = today or timezone.localdate()
    active = [m for m in members if m.active]
    head = next((m for m in active if m.is_head), None)
    household.size = len(active)
    household.female_headed = bool(head and head.sex == "f")
    household.child_headed = bool(head and head.age_on(today) < CHILD_UNDER)
    household.older_person_headed = bool(head and head.age_on(today) >= OLDER_FROM)


def _refresh_derived(household: Household, *, user) -> None:
    derive_household(household, list(household.members.filter(active=True)))
    household._history_user = user
    household.save(update_fields=[*DERIVED_FIELDS, "updated_at"])


def _raise(errors: dict[str, str], prefix: str = "") -> None:
    if errors:
        raise ValidationError({f"{prefix}{k}": [v] for k, v in errors.items()})


def _lock(*households: Household) -> list[Household]:
    locked = lock_rows(Household.objects.filter(pk__in=[h.pk for h in households]))
    if len(locked) != len({h.pk for h in households}):
        raise ValidationError(_("The household no longer exists."))
    return locked


def _clean_members(members: Sequence[dict], *, on: date) -> list[dict]:
    cleaned, errors = [], {}
    for index, raw in enumerate(members):
        values, problems = clean_member(raw, on=on)
        errors.update({f"members.{index}.{k}": v for k, v in problems.items()})
        cleaned.append(values)
    if not errors and (problem := head_problems(cleaned)):
        errors["members"] = problem
    _raise(errors)
    return cleaned


def _new_member(household: Household, values: dict, *, user) -> Member:
    member = Member(household=household, **values)
    member.derive()
    member._history_user = user
    return member


@retry_on_deadlock
def household_register(*, user, fields: dict, members: Sequence[dict], collectors: Sequence[dict] = (),
                       places: Places | None = None) -> Household:
    """Register a household with its members (exactly one head) and recorded consent."""
    cleaned, errors = clean_household(fields, places=places or Places.load())
    _raise(errors)
    if cleaned.get("kobo_uuid") and Household.objects.filter(kobo_uuid=cleaned["kobo_uuid"]).exists():
        _raise({"kobo_uuid": _("a household with this Kobo submission is already registered")})
    member_values = _clean_members(members, on=cleaned["registered_on"])
    collector_values = [_clean_collector(c, index=i) for i, c in enumerate(collectors)]
    with transaction.atomic():
        household = Household(number=naming_next(series=number_series(cleaned["site"]), digits=6), **cleaned)
        rows = [_new_member(household, values, user=user) for values in member_values]
        derive_household(household, rows)
        household._history_user = user
        household.save()
        for row in rows:
            row.household = household
            row.save()
        for values in collector_values:
            collector = AlternateCollector(household=household, **values)
            collector._history_user = user
            collector.save()
    return household


@retry_on_deadlock
def household_update(*, user, household: Household, fields: dict, places: Places | None = None) -> Household:
    """Change household details; consent may be re-recorded, never removed."""
    if "block" in fields and "site" not in fields:
        # A block alone is looked up in the household's own site.
        fields = {**fields, "site": household.site.code}
    cleaned, errors = clean_household(fields, places=places or Places.load(), partial=True)
    cleaned.pop("kobo_uuid", None)
    _raise(errors)
    with transaction.atomic():
        (locked,) = _lock(household)
        if locked.status == HouseholdStatus.MERGED:
            raise ValidationError(_("%(number)s was merged into another household; change that one")
                                  % {"number": locked.number})
        if "site" in cleaned and "block" not in cleaned and cleaned["site"] != locked.site:
            cleaned["block"] = None
        changed = [name for name, value in cleaned.items() if getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, cleaned[name])
        if changed:
            locked._history_user = user
            locked.save(update_fields=[*changed, "updated_at"])
        return locked


@retry_on_deadlock
def household_set_status(*, user, household: Household, status: str) -> Household:
    """Mark a household active, inactive or departed (merging has its own action)."""
    allowed = [HouseholdStatus.ACTIVE, HouseholdStatus.INACTIVE, HouseholdStatus.DEPARTED]
    if status not in allowed:
        _raise({"status": _("must be one of: %(allowed)s") % {"allowed": ", ".join(allowed)}})
    with transaction.atomic():
        (locked,) = _lock(household)
        if locked.status == HouseholdStatus.MERGED:
            raise ValidationError(_("%(number)s was merged; its status cannot change") % {"number": locked.number})
        if locked.status != status:
            locked.status = status
            locked._history_user = user
            locked.save(update_fields=["status", "updated_at"])
        return locked


@retry_on_deadlock
def member_add(*, user, household: Household, fields: dict) -> Member:
    """Add a member (a birth, a newcomer). A new head needs ``member_set_head`` instead."""
    with transaction.atomic():
        (locked,) = _lock(household)
        if locked.status == HouseholdStatus.MERGED:
            raise ValidationError(_("%(number)s was merged into another household") % {"number": locked.number})
        values, errors = clean_member(fields, on=timezone.localdate())
        _raise(errors)
        if values.get("is_head"):
            _raise({"is_head": _("the household already has a head; add the member, then make them head")})
        member = _new_member(locked, values, user=user)
        member.save()
        _refresh_derived(locked, user=user)
        return member


@retry_on_deadlock
def member_update(*, user, member: Member, fields: dict) -> Member:
    """Correct a member's details; the head changes through ``member_set_head``."""
    values, errors = clean_member(fields, on=timezone.localdate(), partial=True)
    if "is_head" in values:
        errors["is_head"] = _("change the head with 'make head'")
    _raise(errors)
    with transaction.atomic():
        (household,) = _lock(member.household)
        locked = Member.objects.get(pk=member.pk)
        if "relationship" in values and locked.is_head and values["relationship"] != Relationship.HEAD:
            _raise({"relationship": _("the head's relationship must be 'head'")})
        if values.get("relationship") == Relationship.HEAD and not locked.is_head:
            _raise({"relationship": _("only the head has relationship 'head'")})
        changed = [name for name, value in values.items() if getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, values[name])
        locked.derive()
        if changed:
            locked._history_user = user
            locked.save(update_fields=[*changed, "has_disability"])
            _refresh_derived(household, user=user)
        return locked


@retry_on_deadlock
def member_remove(*, user, member: Member) -> Member:
    """A member left or died: kept in the record, inactive, no longer counted."""
    with transaction.atomic():
        (household,) = _lock(member.household)
        locked = Member.objects.get(pk=member.pk)
        if not locked.active:
            return locked
        if locked.is_head:
            raise ValidationError(_("Make another member head before removing the head."))
        locked.active = False
        locked._history_user = user
        locked.save(update_fields=["active"])
        _refresh_derived(household, user=user)
        return locked


@retry_on_deadlock
def member_set_head(*, user, member: Member, former_head_relationship: str = Relationship.OTHER_RELATIVE
                    ) -> Member:
    """Make an active member the head; the former head stays a member with the relationship given."""
    if former_head_relationship not in Relationship.values or former_head_relationship == Relationship.HEAD:
        _raise({"former_head_relationship": _("give the former head's new relationship")})
    with transaction.atomic():
        (household,) = _lock(member.household)
        locked = Member.objects.get(pk=member.pk)
        if not locked.active:
            raise ValidationError(_("An inactive member cannot be head."))
        if locked.is_head:
            return locked
        for former in household.members.filter(is_head=True, active=True):
            # Clear the old head first: the unique head index must never see two at once.
            former.is_head = False
            former.relationship = former_head_relationship
            former._history_user = user
            former.save(update_fields=["is_head", "relationship"])
        locked.is_head = True
        locked.relationship = Relationship.HEAD
        locked._history_user = user
        locked.save(update_fields=["is_head", "relationship"])
        _refresh_derived(household, user=user)
        return locked


def _clean_collector(raw: dict, *, index: int | None = None) -> dict:
    prefix = f"collectors.{index}." if index is not None else ""
    name = str(raw.get("name") or "").strip()
    relationship = str(raw.get("relationship") or "").strip()
    id_document = str(raw.get("id_document") or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("is required")
    elif len(name) > 120:
        errors["name"] = _("is longer than %(limit)s characters") % {"limit": 120}
    if not relationship:
        errors["relationship"] = _("is required")
    elif len(relationship) > 60:
        errors["relationship"] = _("is longer than %(limit)s characters") % {"limit": 60}
    if len(id_document) > 60:
        errors["id_document"] = _("is longer than %(limit)s characters") % {"limit": 60}
    _raise(errors, prefix)
    return {"name": name, "relationship": relationship, "id_document": id_document}


@retry_on_deadlock
def collector_add(*, user, household: Household, fields: dict) -> AlternateCollector:
    values = _clean_collector(fields)
    with transaction.atomic():
        (locked,) = _lock(household)
        collector = AlternateCollector(household=locked, **values)
        collector._history_user = user
        collector.save()
        return collector


@retry_on_deadlock
def collector_deactivate(*, user, collector: AlternateCollector) -> AlternateCollector:
    with transaction.atomic():
        _lock(collector.household)
        locked = AlternateCollector.objects.get(pk=collector.pk)
        if locked.active:
            locked.active = False
            locked._history_user = user
            locked.save(update_fields=["active"])
        return locked


def _same_person(a: Member, b: Member) -> bool:
    if a.individual_id and a.individual_id == b.individual_id:
        return True
    return (a.given_name.casefold().strip() == b.given_name.casefold().strip()
            and a.family_name.casefold().strip() == b.family_name.casefold().strip()
            and abs(a.date_of_birth.year - b.date_of_birth.year) <= (2 if a.age_estimated or b.age_estimated else 0))


@retry_on_deadlock
def household_merge(*, user, survivor: Household, merged: Household) -> Household:
    """Two records of one household: everything moves to ``survivor``; ``merged`` keeps a pointer.

    Members of ``merged`` move over; those who are already in the survivor (same individual id, or
    same names and birth year) move as inactive, so nobody is counted twice and no row is lost.
    Other packages move their rows in ``household_merged`` receivers, in this same transaction.
    """
    if survivor.pk == merged.pk:
        raise ValidationError(_("A household cannot be merged into itself."))
    with transaction.atomic():
        by_pk = {h.pk: h for h in _lock(survivor, merged)}
        survivor, merged = by_pk[survivor.pk], by_pk[merged.pk]
        for household in (survivor, merged):
            if household.status == HouseholdStatus.MERGED:
                raise ValidationError(_("%(number)s is already merged into another household")
                                      % {"number": household.number})
        kept = list(survivor.members.filter(active=True))
        for member in merged.members.all():
            fields = ["household"]
            member.household = survivor
            if member.is_head:
                member.is_head = False
                member.relationship = Relationship.OTHER_RELATIVE
                fields += ["is_head", "relationship"]
            if member.active and any(_same_person(member, other) for other in kept):
                member.active = False
                fields.append("active")
            elif member.active:
                kept.append(member)
            member._history_user = user
            member.save(update_fields=fields)
        for collector in merged.alternate_collectors.all():
            collector.household = survivor
            collector._history_user = user
            collector.save(update_fields=["household"])
        merged.status = HouseholdStatus.MERGED
        merged.merged_into = survivor
        merged.size = 0
        merged.female_headed = merged.child_headed = merged.older_person_headed = False
        merged._history_user = user
        merged.save(update_fields=["status", "merged_into", *DERIVED_FIELDS, "updated_at"])
        # Households merged earlier into the one that disappears now point at the survivor.
        for earlier in Household.objects.filter(merged_into=merged):
            earlier.merged_into = survivor
            earlier._history_user = user
            earlier.save(update_fields=["merged_into", "updated_at"])
        _refresh_derived(survivor, user=user)
        pair = sorted([survivor.pk, merged.pk])
        now = timezone.now()
        DuplicateCandidate.objects.filter(household_a_id=pair[0], household_b_id=pair[1]).update(
            status=DuplicateStatus.MERGED, decided_by=user, decided_at=now)
        household_merged.send(sender=Household, survivor=survivor, merged=merged, user=user)
        return survivor


@retry_on_deadlock
def duplicate_mark_distinct(*, user, candidate: DuplicateCandidate) -> DuplicateCandidate:
    """Two different households: the pair is kept so the scan never proposes it again."""
    with transaction.atomic():
        locked = lock_rows(DuplicateCandidate.objects.filter(pk=candidate.pk))[0]
        if locked.status == DuplicateStatus.MERGED:
            raise ValidationError(_("This pair was already merged."))
        locked.status = DuplicateStatus.DISTINCT
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked._history_user = user
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        return locked


def duplicate_merge(*, user, candidate: DuplicateCandidate, survivor_id: int) -> Household:
    """Merge a proposed pair into the household the officer chose to keep."""
    if survivor_id not in (candidate.household_a_id, candidate.household_b_id):
        _raise({"survivor": _("choose one of the two households")})
    other_id = candidate.household_b_id if survivor_id == candidate.household_a_id else candidate.household_a_id
    if candidate.status != DuplicateStatus.PENDING:
        raise ValidationError(_("This pair was already decided."))
    return household_merge(user=user, survivor=Household.objects.get(pk=survivor_id),
                           merged=Household.objects.get(pk=other_id))
