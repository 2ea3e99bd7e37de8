from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReplenishmentConfig(AppConfig):
    name = "relief.replenishment"
    label = "replenishment"
    verbose_name = _("Replenishment")
