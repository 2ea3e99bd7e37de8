from django.conf import settings

from relief.core.roles import role_names


def relief(request) -> dict:
    return {
        "relief_site": settings.RELIEF_SITE,
        "relief_organisation": settings.RELIEF_ORGANISATION,
        "relief_roles": sorted(role_names(getattr(request, "user", None))),
    }
