"""Forms of the distribution desk pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CloseOutForm(forms.Form):
    """One item's end-of-day count at the distribution point; the books give the rest."""

    counted = forms.IntegerField(label=_("Counted at the point"), min_value=0,
                                 widget=forms.NumberInput(attrs={"style": "width: 6rem"}))
    returned = forms.IntegerField(label=_("Returned to a warehouse"), min_value=0, initial=0,
                                  widget=forms.NumberInput(attrs={"style": "width: 6rem"}))
    note = forms.CharField(label=_("Reason for the loss"), max_length=200, required=False,
                           widget=forms.TextInput(attrs={"size": 16}))
