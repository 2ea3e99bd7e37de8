"""The household registry: households, their members and alternate collectors, duplicate candidates.

Names, phones, consent givers and external ids are personal data: they are shown only to
Registration Officers and Administrators (see ``access.py``) and never logged.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from relief.core.models import Block, Site


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    DEPARTED = "departed", _("Departed")
    MERGED = "merged", _("Merged into another household")


class ExitReason(models.TextChoices):
    """Why a household stopped being active; a transfer keeps it active in another site."""

    DEPARTED = "departed", _("Left the site")
    RETURNED = "returned", _("Returned home (voluntary repatriation)")
    DECEASED = "deceased", _("Last member died")
    OTHER = "other", _("Other")


CONSENT_PURPOSES = {
    "registration": _("Registration and case management"),
    "assistance": _("Distributions and assistance"),
    "shelter": _("Shelter allocation"),
    "referral": _("Referral to protection and health services"),
    "sharing": _("Sharing with partners"),
}

LANGUAGES = [
    ("rn", _("Kirundi")), ("sw", _("Kiswahili")), ("fr", _("French")), ("ln", _("Lingala")),
    ("en", _("English")), ("other", _("Other")),
]

COUNTRIES = [("BI", _("Burundi")), ("CD", _("DR Congo")), ("RW", _("Rwanda")), ("TZ", _("Tanzania")),
             ("other", _("Other"))]


class Household(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="households", verbose_name=_("site"))
    block = models.ForeignKey(Block, on_delete=models.PROTECT, null=True, blank=True, related_name="households",
                              verbose_name=_("block"))
    origin_country = models.CharField(_("country of origin"), max_length=5, choices=COUNTRIES, blank=True)
    origin_province = models.CharField(_("province of origin"), max_length=60, blank=True)
    origin_commune = models.CharField(_("commune / territory of origin"), max_length=60, blank=True)
    origin_village = models.CharField(_("village / colline of origin"), max_length=80, blank=True)
    language = models.CharField(_("language"), max_length=5, choices=LANGUAGES, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # External ids are opaque: stored as given, never parsed.
    unhcr_group_id = models.CharField(_("UNHCR registration group id"), max_length=40, blank=True, db_index=True)
    government_id = models.CharField(_("government id"), max_length=40, blank=True)
    kobo_uuid = models.CharField(_("KoboToolbox _uuid"), max_length=64, null=True, blank=True, unique=True,
                                 editable=False)
    registered_on = models.DateField(_("registration date"))
    status = models.CharField(_("status"), max_length=10, choices=HouseholdStatus.choices,
                              default=HouseholdStatus.ACTIVE, db_index=True)
    # Set when the household stops being active (departure, return, death of its last member), cleared when
    # it is reactivated; the history keeps earlier ones.
    exit_reason = models.CharField(_("reason it left"), max_length=10, choices=ExitReason.choices, blank=True)
    exit_date = models.DateField(_("date it left"), null=True, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, editable=False,
                                    related_name="merged_households", verbose_name=_("merged into"))
    # Maintained by the services from the active members, never typed in.
    size = models.PositiveSmallIntegerField(_("size"), default=0, editable=False)
    female_headed = models.BooleanField(_("female-headed"), default=False, editable=False)
    child_headed = models.BooleanField(_("child-headed"), default=False, editable=False)
    older_person_headed = models.BooleanField(_("older-person-headed"), default=False, editable=False)
    consent_given_by = models.CharField(_("consent given by"), max_length=120)
    consent_date = models.DateField(_("consent date"))
    consent_purposes = models.CharField(_("consent purposes"), max_length=200,
                                        help_text=_("Space-separated: registration assistance shelter ..."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    Status = HouseholdStatus

    class Meta:
        ordering = ["number"]
        verbose_name = _("household")
        indexes = [models.Index(fields=["site", "status"]), models.Index(fields=["phone"])]
        constraints = [
            # No registration without recorded consent, whatever path wrote the row.
            models.CheckConstraint(
                condition=~Q(consent_given_by="") & ~Q(consent_purposes=""), name="household_consent_recorded"
            ),
            models.CheckConstraint(
                condition=Q(status=HouseholdStatus.MERGED, merged_into__isnull=False)
                | (~Q(status=HouseholdStatus.MERGED) & Q(merged_into__isnull=True)),
                name="household_merged_has_pointer",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def consent_purpose_list(self) -> list[str]:
        return self.consent_purposes.split()


class Sex(models.TextChoices):
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Son / daughter")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Brother / sister")
    GRANDCHILD = "grandchild", _("Grandchild")
    OTHER_RELATIVE = "relative", _("Other relative")
    UNRELATED = "unrelated", _("Not related")


class Difficulty(models.IntegerChoices):
    """Washington Group short set answers."""

    NONE = 1, _("No difficulty")
    SOME = 2, _("Some difficulty")
    A_LOT = 3, _("A lot of difficulty")
    CANNOT = 4, _("Cannot do at all")


WG_FIELDS = ["wg_seeing", "wg_hearing", "wg_walking", "wg_remembering", "wg_self_care", "wg_communicating"]
NEED_FIELDS = ["pregnant_or_lactating", "chronic_illness", "unaccompanied_or_separated", "older_person_at_risk"]


class Member(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members",
                                  verbose_name=_("household"))
    given_name = models.CharField(_("given name"), max_length=80)
    family_name = models.CharField(_("family name"), max_length=80)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    age_estimated = models.BooleanField(_("age estimated"), default=False,
                                        help_text=_("The date of birth was estimated from a declared age."))
    relationship = models.CharField(_("relationship to head"), max_length=12, choices=Relationship.choices)
    individual_id = models.CharField(_("individual id"), max_length=40, blank=True, db_index=True)
    is_head = models.BooleanField(_("head of household"), default=False)
    active = models.BooleanField(_("active"), default=True)
    wg_seeing = models.PositiveSmallIntegerField(_("difficulty seeing"), choices=Difficulty.choices, null=True,
                                                 blank=True)
    wg_hearing = models.PositiveSmallIntegerField(_("difficulty hearing"), choices=Difficulty.choices, null=True,
                                                  blank=True)
    wg_walking = models.PositiveSmallIntegerField(_("difficulty walking or climbing steps"),
                                                  choices=Difficulty.choices, null=True, blank=True)
    wg_remembering = models.PositiveSmallIntegerField(_("difficulty remembering or concentrating"),
                                                      choices=Difficulty.choices, null=True, blank=True)
    wg_self_care = models.PositiveSmallIntegerField(_("difficulty with self-care"), choices=Difficulty.choices,
                                                    null=True, blank=True)
    wg_communicating = models.PositiveSmallIntegerField(_("difficulty communicating"), choices=Difficulty.choices,
                                                        null=True, blank=True)
    # The Washington Group cut-off: "a lot of difficulty" or "cannot do at all" in any domain.
    has_disability = models.BooleanField(_("has a disability"), default=False, editable=False)
    pregnant_or_lactating = models.BooleanField(_("pregnant or lactating"), default=False)
    chronic_illness = models.BooleanField(_("chronic illness"), default=False)
    unaccompanied_or_separated = models.BooleanField(_("unaccompanied or separated child"), default=False)
    older_person_at_risk = models.BooleanField(_("older person at risk"), default=False)
    # Equals household_id for the active head and NULL otherwise: a unique index on it lets the database
    # refuse a second active head (MariaDB has no partial unique indexes; NULLs never collide).
    head_key = models.GeneratedField(
        expression=Case(When(Q(is_head=True, active=True), then=F("household_id")), default=None),
        output_field=models.BigIntegerField(null=True),
        db_persist=True,
    )
    history = HistoricalRecords(excluded_fields=["head_key"])

    class Meta:
        ordering = ["household", "-is_head", "date_of_birth"]
        verbose_name = _("member")
        constraints = [
            models.UniqueConstraint(fields=["head_key"], name="member_one_active_head_per_household"),
            models.CheckConstraint(
                condition=Q(is_head=False) | Q(relationship="head"), name="member_head_relationship"
            ),
        ]

    def __str__(self) -> str:
        # Not a name: admin messages and logs show this.
        return f"{self.household_id}/{self.pk}"

    def derive(self) -> None:
        """Set the fields computed from the answers; the services call it before every write."""
        self.has_disability = any((getattr(self, f) or 0) >= Difficulty.A_LOT for f in WG_FIELDS)

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def initials(self) -> str:
        return f"{self.given_name[:1].upper()}.{self.family_name[:1].upper()}."


class AlternateCollector(models.Model):
    """Someone the household registered to collect for it (illness, disability, work)."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="alternate_collectors",
                                  verbose_name=_("household"))
    name = models.CharField(_("name"), max_length=120)
    relationship = models.CharField(_("relationship to the household"), max_length=60)
    id_document = models.CharField(_("identity document"), max_length=60, blank=True,
                                   help_text=_("Type and number, e.g. ration card 12345"))
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("alternate collector")

    def __str__(self) -> str:
        return f"{self.household_id}/{self.pk}"


class DuplicateStatus(models.TextChoices):
    PENDING = "pending", _("To review")
    MERGED = "merged", _("Same household (merged)")
    DISTINCT = "distinct", _("Distinct households")


class DuplicateCandidate(models.Model):
    """A pair the duplicate scan proposed; a decided pair is never proposed again."""

    household_a = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    household_b = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField(_("score"))
    # Component scores only (name similarity, date of birth, phone, ids): nothing personal.
    reasons = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=10, choices=DuplicateStatus.choices,
                              default=DuplicateStatus.PENDING, db_index=True)
    found_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-score"]
        verbose_name = _("duplicate candidate")
        constraints = [
            models.UniqueConstraint(fields=["household_a", "household_b"], name="duplicate_pair_unique"),
            models.CheckConstraint(condition=Q(household_a__lt=F("household_b")), name="duplicate_pair_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.household_a_id}~{self.household_b_id}"
