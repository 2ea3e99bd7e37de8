from django.utils.translation import gettext_lazy as _

from relief.core.roles import (
    ADMINISTRATOR,
    AUDITOR,
    DISTRIBUTION_TEAM,
    LOGISTICS_MANAGER,
    REGISTRATION_OFFICER,
)

LINKS = [
    ([REGISTRATION_OFFICER, DISTRIBUTION_TEAM], _("Find a household"), "households:search",
     _("Search by number, UNHCR id, phone or name; open the household card.")),
    ([REGISTRATION_OFFICER], _("Register a household"), "households:register",
     _("A new household with its head and recorded consent.")),
    ([REGISTRATION_OFFICER], _("Import registrations"), "households:import",
     _("Upload a KoboToolbox export or a spreadsheet; check it, then import.")),
    ([REGISTRATION_OFFICER], _("Convoy manifest"), "households:convoy",
     _("Households leaving or moving together: their plots, cards and entitlements go with them.")),
    ([REGISTRATION_OFFICER], _("Possible duplicates"), "households:duplicates",
     _("Review households that may be registered twice: merge or mark distinct.")),
    ([REGISTRATION_OFFICER, AUDITOR, LOGISTICS_MANAGER, DISTRIBUTION_TEAM, ADMINISTRATOR], _("Registry summary"),
     "households:summary", _("Households and individuals per site, by sex, age and specific needs.")),
]
