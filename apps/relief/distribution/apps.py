from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "relief.distribution"
    label = "distribution"
    verbose_name = _("Distribution")

    def ready(self) -> None:
        from relief.distribution import receivers
        from relief.distribution.services import on_household_merged
        from relief.households import signals

        signals.household_merged.connect(on_household_merged, dispatch_uid="distribution-household-merged")
        signals.households_left.connect(receivers.households_left, dispatch_uid="distribution-households-left")
        signals.households_transferred.connect(receivers.households_transferred,
                                               dispatch_uid="distribution-households-transferred")
        signals.households_reactivated.connect(receivers.households_reactivated,
                                               dispatch_uid="distribution-households-reactivated")
