from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShelterConfig(AppConfig):
    name = "relief.shelter"
    label = "shelter"
    verbose_name = _("Shelter")

    def ready(self) -> None:
        from relief.households import signals
        from relief.shelter import receivers

        signals.household_merged.connect(receivers.move_to_survivor, dispatch_uid="shelter-household-merged")
        # Connected before distribution's (apps load in package order): plots are locked before cards.
        signals.households_left.connect(receivers.households_left, dispatch_uid="shelter-households-left")
        signals.households_transferred.connect(receivers.households_transferred,
                                               dispatch_uid="shelter-households-transferred")
        signals.households_reactivated.connect(receivers.households_reactivated,
                                               dispatch_uid="shelter-households-reactivated")
