from django.utils.translation import gettext_lazy as _

from relief.core.roles import AUDITOR, LOGISTICS_MANAGER, REGISTRATION_OFFICER

LINKS = [
    ([REGISTRATION_OFFICER, AUDITOR, LOGISTICS_MANAGER], _("Shelter"), "shelter:sites",
     _("Occupancy and map of each camp, waiting list, allocation planner.")),
]
