from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShelterConfig(AppConfig):
    name = "relief.shelter"
    label = "shelter"
    verbose_name = _("Shelter")

    def ready(self) -> None:
        from relief.households.signals import household_merged
        from relief.shelter import receivers

        household_merged.connect(receivers.move_to_survivor, dispatch_uid="shelter-household-merged")
