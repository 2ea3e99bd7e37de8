from django.utils.translation import gettext_lazy as _

from relief.core.roles import AUDITOR, DISTRIBUTION_TEAM, LOGISTICS_MANAGER, REGISTRATION_OFFICER

LINKS = [
    ([DISTRIBUTION_TEAM], _("Scanning station"), "distribution:scan",
     _("Scan entitlement cards at a distribution event, online or offline.")),
    ([DISTRIBUTION_TEAM, LOGISTICS_MANAGER, AUDITOR], _("Distribution events"), "distribution:events",
     _("Progress, no-shows, conflicts and hand-overs per event; exports with HXL tags.")),
    ([REGISTRATION_OFFICER], _("Print cards"), "distribution:print",
     _("Print signed QR entitlement cards for households.")),
]
