from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "relief.core"
    label = "core"
    verbose_name = _("Relief core")

    def ready(self) -> None:
        from relief.core import roles

        # Permissions exist only after post_migrate, so role grants are synced there.
        post_migrate.connect(roles.sync_role_permissions_signal, dispatch_uid="relief_sync_roles")
