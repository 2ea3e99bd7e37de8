"""Forms of the distribution desk pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CloseOutForm(forms.Form):
    """One item's end-of-day count at the distribution point; the service checks that it adds up."""

    moved_in = forms.IntegerField(label=_("Moved to the point"), min_value=0)
    returned = forms.IntegerField(label=_("Returned"), min_value=0)
    lost = forms.IntegerField(label=_("Lost or damaged"), min_value=0, initial=0)
    note = forms.CharField(label=_("Reason for the loss"), max_length=200, required=False)
