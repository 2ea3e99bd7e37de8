"""Demo data: the three camps of Kigoma region, one user per role, then each package's demo."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from relief.core.models import Block, Site, StaffProfile
from relief.core.plugins import domain_modules
from relief.core.roles import ADMINISTRATOR, DEMO_USERS, DISTRIBUTION_TEAM, REGISTRATION_OFFICER

CAMPS = [
    # code, name, district, lat, lon, planned capacity, card language
    ("NYA", "Nyarugusu", "Kasulu", "-4.2167", "30.3833", 150_000, "sw"),
    ("NDU", "Nduta", "Kibondo", "-3.4500", "30.6167", 130_000, "fr"),
    ("MTE", "Mtendeli", "Kakonko", "-3.3300", "30.7300", 50_000, "fr"),
]


def demo_sites() -> list[Site]:
    sites = []
    for code, name, district, lat, lon, capacity, language in CAMPS:
        site, _ = Site.objects.update_or_create(
            code=code,
            defaults={"name": name, "district": district, "latitude": lat, "longitude": lon,
                      "planned_capacity": capacity, "language": language, "kind": Site.Kind.CAMP},
        )
        sites.append(site)
    return sites


BLOCKS_PER_CAMP = 12


def demo_blocks(sites: list[Site]) -> None:
    leaders = ["Mzee Ntakirutimana", "Mama Niyonzima", "Bw. Habimana", "Mama Kabura", "Bw. Mugisha",
               "Mzee Bizimana", "Mama Uwimana", "Bw. Nshimirimana", "Mama Irakoze", "Bw. Hakizimana",
               "Mama Ndayishimiye", "Bw. Manirakiza"]
    for site in sites:
        for n in range(1, BLOCKS_PER_CAMP + 1):
            Block.objects.get_or_create(site=site, code=f"B{n:02d}",
                                        defaults={"community_leader": leaders[n - 1]})


def demo_users(*, password: str) -> dict[str, User]:
    users = {}
    sites = list(Site.objects.all())
    for username, role in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(username=username)
        user.first_name = role.split()[0]
        user.is_staff = True
        user.is_superuser = role == ADMINISTRATOR
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        profile, _ = StaffProfile.objects.get_or_create(user=user)
        if role in (DISTRIBUTION_TEAM, REGISTRATION_OFFICER):
            profile.sites.set(sites)
        users[username] = user
    return users


def demo_load(*, households: int, password: str, stdout) -> None:
    with transaction.atomic():
        demo_blocks(demo_sites())
        demo_users(password=password)
    stdout.write("demo: sites and users ready")
    for module in domain_modules("demo"):
        module.load(households=households, stdout=stdout)
