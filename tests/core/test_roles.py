import pytest
from django.contrib.auth.models import Group

from relief.core.roles import (
    ADMINISTRATOR,
    ALL_ROLES,
    AUDITOR,
    DEMO_USERS,
    has_role,
    role_names,
    sync_role_permissions,
)


@pytest.mark.smoke
@pytest.mark.django_db
def test_migrations_create_the_six_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ALL_ROLES)


def test_each_demo_user_holds_exactly_its_role(users):
    for username, role in DEMO_USERS.items():
        assert role_names(users[username]) == {role}
    assert role_names(users["outsider"]) == set()


def test_auditor_reads_everything_and_changes_nothing(users):
    sync_role_permissions()
    auditor = users["auditor"]
    perms = auditor.get_all_permissions()
    assert "core.view_site" in perms and "lifecycle_app.view_voucher" in perms
    assert not [p for p in perms if not p.split(".")[1].startswith("view_")]
    assert "core.view_apitoken" not in perms and "auth.view_user" not in perms


def test_administrator_may_do_everything(users):
    assert users["admin"].has_perm("core.change_site") and has_role(users["admin"], ADMINISTRATOR)


def test_only_the_grants_of_a_role_are_given(users):
    sync_role_permissions()
    warehouse = Group.objects.get(name="Warehouse Staff")
    codes = set(warehouse.permissions.values_list("codename", flat=True))
    assert "view_site" in codes and "change_site" not in codes and "add_user" not in codes
    assert not has_role(users["warehouse"], AUDITOR, ADMINISTRATOR)
