from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "relief.distribution"
    label = "distribution"
    verbose_name = _("Distribution")

    def ready(self) -> None:
        from relief.distribution.services import on_household_merged
        from relief.households.signals import household_merged

        household_merged.connect(on_household_merged, dispatch_uid="distribution-household-merged")
