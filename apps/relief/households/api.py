"""Registry API: list and search (paginated), read, create, update — with the desk's permissions.

Names are searched through ``POST /households/search`` so they never sit in a URL. Distribution
Team members get identity rows only (number, size, site, block, head's initials); Auditors and
Logistics Managers get counts (``/households/summary``).
"""

from __future__ import annotations

from datetime import date

from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from relief.core.models import Site
from relief.core.services import access_log_record
from relief.households import access, selectors, services
from relief.households.models import Household, HouseholdStatus

router = Router(tags=["households"])


class IdentityOut(Schema):
    number: str
    size: int
    site: str
    block: str
    head_initials: str


class MemberIn(Schema):
    given_name: str
    family_name: str
    sex: str
    date_of_birth: date | None = None
    age: int | None = None
    relationship: str
    individual_id: str = ""
    wg_seeing: int | None = None
    wg_hearing: int | None = None
    wg_walking: int | None = None
    wg_remembering: int | None = None
    wg_self_care: int | None = None
    wg_communicating: int | None = None
    specific_needs: list[str] = Field(default_factory=list)


class MemberOut(Schema):
    id: int
    given_name: str
    family_name: str
    sex: str
    date_of_birth: date
    age_estimated: bool
    relationship: str
    individual_id: str
    is_head: bool
    active: bool
    has_disability: bool
    pregnant_or_lactating: bool
    chronic_illness: bool
    unaccompanied_or_separated: bool
    older_person_at_risk: bool


class HouseholdIn(Schema):
    site: str
    block: str = ""
    origin_country: str = ""
    origin_province: str = ""
    origin_commune: str = ""
    origin_village: str = ""
    language: str = ""
    phone: str = ""
    unhcr_group_id: str = ""
    government_id: str = ""
    registered_on: date | None = None
    consent_given_by: str
    consent_date: date
    consent_purposes: list[str]
    members: list[MemberIn]


class HouseholdPatch(Schema):
    site: str | None = None
    block: str | None = None
    origin_country: str | None = None
    origin_province: str | None = None
    origin_commune: str | None = None
    origin_village: str | None = None
    language: str | None = None
    phone: str | None = None
    unhcr_group_id: str | None = None
    government_id: str | None = None
    consent_given_by: str | None = None
    consent_date: date | None = None
    consent_purposes: list[str] | None = None


class HouseholdOut(Schema):
    number: str
    site: str
    block: str
    status: str
    size: int
    female_headed: bool
    child_headed: bool
    older_person_headed: bool
    origin_country: str
    origin_province: str
    origin_commune: str
    origin_village: str
    language: str
    phone: str
    unhcr_group_id: str
    government_id: str
    registered_on: date
    consent_given_by: str
    consent_date: date
    consent_purposes: list[str]
    merged_into: str | None
    members: list[MemberOut]


class SearchIn(Schema):
    q: str = Field(..., min_length=1, max_length=100)


def _out(household: Household) -> dict:
    data = {f: getattr(household, f) for f in HouseholdOut.model_fields if hasattr(household, f)}
    data.update(site=household.site.code, block=household.block.code if household.block_id else "",
                consent_purposes=household.consent_purpose_list,
                merged_into=household.merged_into.number if household.merged_into_id else None,
                members=list(household.members.all()))
    return data


@router.get("/households", response=list[IdentityOut])
@paginate(LimitOffsetPagination)
def household_list(request, site: str | None = None, block: str | None = None, status: str = "active",
                   number: str | None = None):
    """Identity rows of the households the caller works with; filter by site, block, status, number prefix."""
    site_ids = access.require_identity(request.user)
    qs = selectors.households_visible(site_ids).prefetch_related("members").order_by("number")
    if status in HouseholdStatus.values:
        qs = qs.filter(status=status)
    if site:
        qs = qs.filter(site__code=site.upper())
    if block:
        qs = qs.filter(block__code=block.upper())
    if number:
        qs = qs.filter(number__startswith=number.upper())
    return [selectors.household_identity(h) for h in qs]


@router.post("/households/search", response=list[HouseholdOut | IdentityOut])
def household_search(request, payload: SearchIn):
    """By number, UNHCR or government id, individual id, phone or name (at most 50 results)."""
    site_ids = access.require_identity(request.user)
    personal = access.can_see_personal(request.user)
    found = selectors.household_search(query=payload.q, site_ids=site_ids)
    for household in found:
        access_log_record(user=request.user, object_type="household", object_id=household.number,
                          action="api-search" if personal else "api-search-identity")
    return [_out(h) if personal else selectors.household_identity(h) for h in found]


@router.get("/households/summary", response=list[dict])
def household_summary(request):
    """Counts per site: households, individuals by sex and age group, specific needs."""
    access.require_counts(request.user)
    return selectors.registry_summary()


@router.get("/households/{number}", response=HouseholdOut | IdentityOut)
def household_read(request, number: str):
    if not access.can_see_personal(request.user):
        return selectors.household_identity(access.household_for(request.user, number, personal=False,
                                                                 action="api-view"))
    return _out(access.household_for(request.user, number, action="api-view"))


@router.post("/households", response={201: HouseholdOut})
def household_create(request, payload: HouseholdIn):
    access.require_personal(request.user)
    data = payload.dict()
    members = data.pop("members")
    site = Site.objects.filter(code=payload.site.upper()).first()
    if site is not None:
        access.require_site(request.user, site)
    household = services.household_register(user=request.user, fields=data, members=members)
    access_log_record(user=request.user, object_type="household", object_id=household.number, action="api-create")
    return Status(201, _out(household))


@router.patch("/households/{number}", response=HouseholdOut)
def household_update(request, number: str, payload: HouseholdPatch):
    household = access.household_for(request.user, number, for_write=True, action="api-change")
    access.require_site(request.user, household.site)
    fields = payload.dict(exclude_unset=True)
    site = Site.objects.filter(code=str(fields.get("site") or "").upper()).first()
    if site is not None:
        access.require_site(request.user, site)
    updated = services.household_update(user=request.user, household=household, fields=fields)
    return _out(Household.objects.select_related("site", "block", "merged_into").get(pk=updated.pk))
