"""Site setup actions used by `relief new-site`."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from relief.core.models import StaffProfile
from relief.core.roles import ADMINISTRATOR


def administrator_create(*, username: str, password: str) -> User:
    with transaction.atomic():
        user = User.objects.create_superuser(username=username, email="", password=password)
        user.groups.add(Group.objects.get(name=ADMINISTRATOR))
        StaffProfile.objects.create(user=user)
        return user
