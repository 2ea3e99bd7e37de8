from django import template
from django.urls import NoReverseMatch, reverse

from relief.core import menu
from relief.core.plugins import domain_modules
from relief.core.roles import ADMINISTRATOR, role_names

register = template.Library()


@register.simple_tag(takes_context=True)
def relief_work_links(context) -> list[dict]:
    """The pages each of the user's roles works in; each package lists its own in menu.LINKS."""
    roles = role_names(context["request"].user)
    links = []
    for module in [*domain_modules("menu"), menu]:
        for allowed, label, url_name, description in module.LINKS:
            if roles & set(allowed) or ADMINISTRATOR in roles:
                try:
                    url = reverse(url_name)
                except NoReverseMatch:
                    url = url_name
                links.append({"label": label, "url": url, "description": description})
    return links


@register.simple_tag
def relief_system_status() -> dict:
    from relief.core.health import system_status

    return system_status()


@register.simple_tag(takes_context=True)
def relief_home_panels(context) -> list[dict]:
    """Counts that need attention (e.g. overdue feedback cases): each package's ``selectors.home_panels(user)``."""
    user = context["request"].user
    return [panel for module in domain_modules("selectors") if hasattr(module, "home_panels")
            for panel in module.home_panels(user)]
