from django.utils.translation import gettext_lazy as _

from relief.core.roles import AUDITOR, LOGISTICS_MANAGER

LINKS = [
    ([LOGISTICS_MANAGER, AUDITOR], _("Logistics dashboard"), "replenishment:dashboard",
     _("Stock by warehouse, coverage in rounds, expiring lots, pipeline, open events, shortfalls.")),
    ([LOGISTICS_MANAGER, AUDITOR], _("Replenishment plans"), "replenishment:plans",
     _("What the coming distributions need against what is where: transfers and purchases.")),
    ([LOGISTICS_MANAGER], _("Pipeline"), "admin:replenishment_pipeline_changelist",
     _("Pledged and ordered goods with donor, quantity and expected date.")),
    ([LOGISTICS_MANAGER], _("Routes and trucks"), "admin:replenishment_route_changelist",
     _("Distances and lead times between warehouses; truck capacities and costs.")),
    ([LOGISTICS_MANAGER], _("Purchase requests"), "admin:replenishment_purchaserequest_changelist",
     _("What to buy, for which warehouse, by when.")),
]
