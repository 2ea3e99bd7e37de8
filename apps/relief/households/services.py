"""Every change to the registry: register, update, members, heads, status, collectors, merge.

Each function is one transaction that locks the household rows it changes (sorted by id, at their
rank of ``relief.core.locks``) and then keeps ``size`` and the head-derived vulnerabilities in step
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
from relief.core.history import rows_set
from relief.core.locks import Rank
from relief.core.naming import naming_next
from relief.households.models import (
    AlternateCollector,
    DuplicateCandidate,
    DuplicateStatus,
    ExitReason,
    Household,
    HouseholdStatus,
    Member,
    Relationship,
)
from relief.households.signals import (
    household_merged,
    households_left,
    households_reactivated,
    households_transferred,
)
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
    locked = households_lock(household_ids=[h.pk for h in households])
    if len(locked) != len({h.pk for h in households}):
        raise ValidationError(_("The household no longer exists."))
    return locked


def households_lock(*, household_ids) -> list[Household]:
    """Lock household rows at their place in the house lock order (after the site, before plots, cards,
    entitlements and bins); other packages lock a household through this before changing what hangs on it."""
    return lock_rows(Household.objects.filter(pk__in=set(household_ids)), rank=Rank.HOUSEHOLD)


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
    """Mark a household active, inactive or departed (merging has its own action). Leaving and coming back
    carry the household's plot, card and entitlements along (``households_leave``, ``household_reactivate``)."""
    allowed = [HouseholdStatus.ACTIVE, HouseholdStatus.INACTIVE, HouseholdStatus.DEPARTED]
    if status not in allowed:
        _raise({"status": _("must be one of: %(allowed)s") % {"allowed": ", ".join(allowed)}})
    fresh = Household.objects.get(pk=household.pk)
    if fresh.status == status:
        return fresh
    if status == HouseholdStatus.ACTIVE:
        return household_reactivate(user=user, household=fresh)
    reason = ExitReason.DEPARTED if status == HouseholdStatus.DEPARTED else ExitReason.OTHER
    (left,) = households_leave(user=user, households=[fresh], reason=reason)
    return left


# --- lifecycle: a household leaves, moves to another site, comes back ------------------------------------------

# Who may still leave: a household already gone (or merged away) has nothing left to carry.
LEAVING_FROM = (HouseholdStatus.ACTIVE, HouseholdStatus.INACTIVE)
NOTE_LIMIT = 200


def _status_after(reason: str) -> str:
    # Departure and return take the household off the site; a household whose last member died, or one set
    # aside for another reason, stays on the site's books as inactive.
    if reason in (ExitReason.DEPARTED, ExitReason.RETURNED):
        return HouseholdStatus.DEPARTED
    return HouseholdStatus.INACTIVE


def lifecycle_problems(household: Household, *, reason: str, active_members: int | None = None) -> list[str]:
    """Why ``household`` cannot leave for ``reason`` now (empty: it can). Shared by the one-by-one service and
    the convoy, so a manifest row is refused for the same words as the desk would be."""
    if household.status == HouseholdStatus.MERGED:
        return [_("%(number)s was merged into another household") % {"number": household.number}]
    if household.status not in LEAVING_FROM:
        return [_("%(number)s already left (%(status)s on %(day)s)") % {
            "number": household.number, "status": household.get_status_display(),
            "day": f"{household.exit_date:%Y-%m-%d}" if household.exit_date else "?"}]
    if reason == ExitReason.DECEASED and (active_members or 0) > 1:
        return [_("%(number)s still has %(n)s active members: remove those who died or left first") % {
            "number": household.number, "n": active_members}]
    return []


def _clean_leave(*, reason: str, on: date | None, note: str) -> tuple[date, str]:
    errors = {}
    if reason not in ExitReason.values:
        errors["reason"] = _("choose one of: %(choices)s") % {"choices": ", ".join(ExitReason.values)}
    today = timezone.localdate()
    on = on or today
    if on > today:
        errors["date"] = _("cannot be in the future")
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        errors["note"] = _("is longer than %(limit)s characters") % {"limit": NOTE_LIMIT}
    _raise(errors)
    return on, note


@retry_on_deadlock
def households_leave(*, user, households: Sequence[Household], reason: str, on: date | None = None,
                     note: str = "") -> list[Household]:
    """Households leave for ``reason`` (departure, voluntary return, death of the last member, other), all in one
    transaction with everything they hold: the allocation ends with that reason and its plot is vacant, waiting
    entries close, the active card is revoked, open and owed entitlements are cancelled and their stock released
    (the receivers of ``households_left``). Any household that cannot leave refuses the whole call, named."""
    on, note = _clean_leave(reason=reason, on=on, note=note)
    if not households:
        return []
    with transaction.atomic():
        locked = _lock(*households)
        members = {}
        if reason == ExitReason.DECEASED:
            for member in Member.objects.filter(household__in=locked, active=True):
                members.setdefault(member.household_id, []).append(member)
        problems = [p for h in locked
                    for p in lifecycle_problems(h, reason=reason, active_members=len(members.get(h.pk, [])))]
        if problems:
            raise ValidationError({"household": problems})
        values = {"status": _status_after(reason), "exit_reason": reason, "exit_date": on,
                  "updated_at": timezone.now()}
        if reason == ExitReason.DECEASED:
            values.update(size=0, female_headed=False, child_headed=False, older_person_headed=False)
            rows_set([m for rows in members.values() for m in rows], values={"active": False}, user=user)
        rows_set(locked, values=values, user=user)
        households_left.send(sender=Household, households=locked, reason=reason, on=on, note=note, user=user)
        return locked


@retry_on_deadlock
def households_transfer(*, user, households: Sequence[Household], site, note: str = "") -> list[Household]:
    """Households move to another site of the office and stay active: their allocation ends (transferred), the
    card naming the old site is revoked and a new one issued, open entitlements follow them where the cycle
    serves the new site and are cancelled where it does not, and they wait for a plot there."""
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        _raise({"note": _("is longer than %(limit)s characters") % {"limit": NOTE_LIMIT}})
    if not households:
        return []
    with transaction.atomic():
        locked = _lock(*households)
        problems = []
        for household in locked:
            if household.status != HouseholdStatus.ACTIVE:
                problems.append(_("%(number)s is not active (%(status)s)") % {
                    "number": household.number, "status": household.get_status_display()})
            elif household.site_id == site.pk:
                problems.append(_("%(number)s already lives in %(site)s") % {
                    "number": household.number, "site": site.code})
        if problems:
            raise ValidationError({"household": problems})
        from_site_ids = {h.pk: h.site_id for h in locked}
        rows_set(locked, values={"site": site, "block": None, "updated_at": timezone.now()}, user=user)
        households_transferred.send(sender=Household, households=locked, from_site_ids=from_site_ids, note=note,
                                    user=user)
        return locked


def household_transfer(*, user, household: Household, site, note: str = "") -> Household:
    (moved,) = households_transfer(user=user, households=[household], site=site, note=note)
    return moved


@retry_on_deadlock
def household_reactivate(*, user, household: Household) -> Household:
    """A household that left comes back (or was set aside in error): active again with a new card; it waits for
    a plot like a new arrival, and the next regeneration of a cycle gives it what the rules give."""
    with transaction.atomic():
        (locked,) = _lock(household)
        if locked.status == HouseholdStatus.MERGED:
            raise ValidationError(_("%(number)s was merged; its status cannot change") % {"number": locked.number})
        if locked.status == HouseholdStatus.ACTIVE:
            return locked
        if not locked.members.filter(active=True, is_head=True).exists():
            raise ValidationError({"household": [_("%(number)s has no active head: add the members who came back "
                                                   "and make one head first") % {"number": locked.number}]})
        locked.status, locked.exit_reason, locked.exit_date = HouseholdStatus.ACTIVE, "", None
        locked._history_user = user
        locked.save(update_fields=["status", "exit_reason", "exit_date", "updated_at"])
        households_reactivated.send(sender=Household, households=[locked], user=user)
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
