from django.utils.translation import gettext_lazy as _

from relief.core.roles import AUDITOR, DISTRIBUTION_TEAM, LOGISTICS_MANAGER, WAREHOUSE_STAFF

_STOCK = [LOGISTICS_MANAGER, WAREHOUSE_STAFF, AUDITOR, DISTRIBUTION_TEAM]
_POST = [LOGISTICS_MANAGER, WAREHOUSE_STAFF]

LINKS = [
    (_STOCK, _("Stock summary"), "inventory:stock-summary", _("On hand, reserved, available and in transit.")),
    (_POST, _("Receive, issue, move stock"), "admin:inventory_stockentry_changelist",
     _("Goods received notes, issues, transfers, kitting.")),
    (_POST, _("Waybills"), "admin:inventory_waybill_changelist", _("Goods in transit; receive what arrived.")),
    (_POST, _("Physical counts"), "admin:inventory_physicalcount_changelist",
     _("Count sheets, upload, post adjustments.")),
    (_STOCK, _("Expiring lots"), "inventory:expiring", _("Lots that expire soon, first to go first.")),
    ([LOGISTICS_MANAGER, AUDITOR], _("Donor report"), "inventory:donor-report",
     _("Received, issued, lost and balance per grant.")),
]
