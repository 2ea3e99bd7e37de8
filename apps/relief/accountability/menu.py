from django.utils.translation import gettext_lazy as _

from relief.core.roles import AUDITOR, DISTRIBUTION_TEAM, LOGISTICS_MANAGER, REGISTRATION_OFFICER

LINKS = [
    ([LOGISTICS_MANAGER, REGISTRATION_OFFICER, DISTRIBUTION_TEAM, AUDITOR], _("Feedback cases"),
     "accountability:cases", _("Complaints, questions, requests and appreciation: assign, refer, answer, close.")),
    ([LOGISTICS_MANAGER, AUDITOR], _("People reached"), "accountability:reach",
     _("Households and people reached per grant, site, item and month, by sex and age; the 4W.")),
    ([LOGISTICS_MANAGER, AUDITOR], _("Donor report in value"), "accountability:donor-values",
     _("Received, issued, lost and closing stock of a grant, valued from its goods received notes.")),
]
