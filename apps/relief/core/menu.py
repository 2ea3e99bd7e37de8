from django.utils.translation import gettext_lazy as _

from relief.core.roles import ADMINISTRATOR, AUDITOR

LINKS = [
    ((ADMINISTRATOR,), _("Users and roles"), "admin:auth_user_changelist",
     _("Give each person one role and the sites or warehouses they work in.")),
    ((ADMINISTRATOR,), _("Sites and blocks"), "admin:core_site_changelist",
     _("Camps, settlements and transit sites, and their blocks.")),
    ((ADMINISTRATOR,), _("Scanner tokens"), "admin:core_apitoken_changelist",
     _("See and revoke the API tokens of scanner devices.")),
    ((ADMINISTRATOR, AUDITOR), _("Background jobs"), "admin:core_job_changelist",
     _("Imports, card printing and plans: progress and results.")),
    ((ADMINISTRATOR, AUDITOR), _("Access log"), "admin:core_accesslog_changelist",
     _("Who looked at which household record, and when.")),
]
