from django.urls import include, path

from relief.api import api
from relief.core.admin import desk
from relief.core.plugins import domain_modules

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/", desk.urls),
    path("api/v1/", api.urls),
    path("", include("relief.core.urls")),
    *[path("", include(module.__name__)) for module in domain_modules("urls")],
]
