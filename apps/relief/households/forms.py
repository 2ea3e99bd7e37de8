"""Desk forms. They only collect input: the services validate it and say what is wrong."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from relief.core.models import Site
from relief.households.importer import MODES
from relief.households.models import (
    CONSENT_PURPOSES,
    COUNTRIES,
    LANGUAGES,
    NEED_FIELDS,
    WG_FIELDS,
    Difficulty,
    HouseholdStatus,
    Member,
    Relationship,
    Sex,
)

DATE = forms.DateInput(attrs={"type": "date"})


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Number, UNHCR id, phone or name"), max_length=100)


class HouseholdForm(forms.Form):
    site = forms.ModelChoiceField(Site.objects.all(), label=_("Site"), to_field_name="code")
    block = forms.CharField(label=_("Block code"), max_length=20, required=False)
    origin_country = forms.ChoiceField(label=_("Country of origin"), choices=[("", "—"), *COUNTRIES], required=False)
    origin_province = forms.CharField(label=_("Province"), max_length=60, required=False)
    origin_commune = forms.CharField(label=_("Commune / territory"), max_length=60, required=False)
    origin_village = forms.CharField(label=_("Village / colline"), max_length=80, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=[("", "—"), *LANGUAGES], required=False)
    phone = forms.CharField(label=_("Phone"), max_length=25, required=False)
    unhcr_group_id = forms.CharField(label=_("UNHCR registration group id"), max_length=40, required=False)
    government_id = forms.CharField(label=_("Government id"), max_length=40, required=False)
    registered_on = forms.DateField(label=_("Registration date"), widget=DATE)
    consent_given_by = forms.CharField(label=_("Consent given by"), max_length=120)
    consent_date = forms.DateField(label=_("Consent date"), widget=DATE)
    consent_purposes = forms.MultipleChoiceField(label=_("Consent purposes"), choices=list(CONSENT_PURPOSES.items()),
                                                 widget=forms.CheckboxSelectMultiple)

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["site"] = data["site"].code
        return data


class MemberForm(forms.Form):
    given_name = forms.CharField(label=_("Given name"), max_length=80)
    family_name = forms.CharField(label=_("Family name"), max_length=80)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DATE)
    age = forms.IntegerField(label=_("or age in years (estimated)"), required=False, min_value=0, max_value=120)
    relationship = forms.ChoiceField(label=_("Relationship to head"), choices=Relationship.choices)
    individual_id = forms.CharField(label=_("Individual id"), max_length=40, required=False)
    specific_needs = forms.MultipleChoiceField(
        label=_("Specific needs"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(n, Member._meta.get_field(n).verbose_name) for n in NEED_FIELDS])

    def __init__(self, *args, head: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for name in WG_FIELDS:
            self.fields[name] = forms.TypedChoiceField(
                label=Member._meta.get_field(name).verbose_name, choices=[("", "—"), *Difficulty.choices],
                coerce=int, empty_value=None, required=False)
        if head:
            self.fields["relationship"].initial = Relationship.HEAD
            self.fields["relationship"].widget = forms.HiddenInput()

    def service_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        data["specific_needs"] = self.cleaned_data.get("specific_needs") or []
        data.setdefault("relationship", self.cleaned_data.get("relationship"))
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[c for c in HouseholdStatus.choices
                                                           if c[0] != HouseholdStatus.MERGED])


class LifecycleForm(forms.Form):
    """A household moves on: it leaves (for a reason), moves to another site, or comes back."""

    ACTIONS = [("departed", _("Left the site")), ("returned", _("Returned home (voluntary repatriation)")),
               ("deceased", _("Last member died")), ("other", _("Set aside (other reason)")),
               ("transferred", _("Transferred to another site")), ("reactivate", _("Came back: active again"))]
    action = forms.ChoiceField(label=_("What happened"), choices=ACTIONS)
    date = forms.DateField(label=_("Date"), widget=DATE, required=False)
    site = forms.ModelChoiceField(Site.objects.all(), label=_("New site (transfer)"), to_field_name="code",
                                  required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ConvoyForm(forms.Form):
    file = forms.FileField(label=_("Convoy manifest (.xlsx or .csv)"),
                           help_text=_("Columns: household (or unhcr_id), date, reason (departed, returned, "
                                       "deceased, transferred), site (for a transfer), note."))


class ConvoyCommitForm(forms.Form):
    mode = forms.ChoiceField(label=_("Carry out"), choices=[
        ("all", _("only if every row is valid")), ("valid", _("the valid rows; report the rest"))],
        widget=forms.RadioSelect, initial="all")


class CollectorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    relationship = forms.CharField(label=_("Relationship to the household"), max_length=60)
    id_document = forms.CharField(label=_("Identity document"), max_length=60, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Export file (.xlsx or .csv)"))
    mapping = forms.ChoiceField(label=_("Mapping"), choices=[("kobo_example", _("KoboToolbox registration form")),
                                                            ("plain_example", _("Plain spreadsheet"))])
    mapping_file = forms.FileField(label=_("or your own mapping file (.json)"), required=False)
    default_site = forms.ModelChoiceField(Site.objects.all(), label=_("Site for rows that name none"),
                                          to_field_name="code", required=False)


class CommitForm(forms.Form):
    mode = forms.ChoiceField(label=_("Import"), choices=list(zip(MODES, [
        _("only if every household is valid"), _("the valid households; report the rest")], strict=True)),
        widget=forms.RadioSelect, initial="all")
