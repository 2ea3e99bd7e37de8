"""A leaked card-signing key is retired: cards it signed verify as invalid (retired_key) online, in the
offline manifest and in the scanning page's own verifier (issue 13, item 7)."""

import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from relief.core import signing
from relief.distribution import services
from relief.distribution.models import Redemption
from tests.distribution.conftest import build_world
from tests.distribution.test_api import bearer, post
from tests.distribution.test_scan_page import browser, camera_file, station, wedge  # noqa: F401 - page fixtures


@pytest.fixture
def keys(tmp_path, monkeypatch):
    """This test's own copy of the keys (retiring one must not touch the rest of the suite's)."""
    copy = tmp_path / "keys"
    shutil.copytree(signing.keys_dir(), copy)
    monkeypatch.setenv("RELIEF_KEYS_DIR", str(copy))
    return copy


def _retire_world_key(world) -> str:
    kid = world.cards[0].key_id
    signing.key_create()  # a new active key; the one that signed the world's cards can now be retired
    call_command("retire_key", kid)
    return kid


@pytest.mark.django_db
def test_cards_of_a_retired_key_verify_as_invalid_online(keys, users):
    world = build_world(users, households=2)
    kid = _retire_world_key(world)
    result = services.scan_verify(code=world.code(0), event=world.event)
    assert (result.verdict, result.reason) == ("invalid", "retired_key")
    redeem = post(Client(), "/api/v1/scan/redeem", {"code": world.code(0), "event": world.event.pk,
                                                    "client_id": "rk-1"}, bearer(world.users["distribution"]))
    assert redeem.status_code == 422 and redeem.json()["reason"] == "retired_key"
    assert not Redemption.objects.exists()
    manifest = Client().get(f"/api/v1/events/{world.event.pk}/manifest", **bearer(world.users["distribution"]))
    assert manifest.json()["retired"] == [kid] and kid not in manifest.json()["keys"]
    # A card from the new key is fine.
    new = services.card_replace(card=world.cards[1], reason="replaced", user=users["admin"])
    assert services.scan_verify(code=new.code, event=world.event).verdict == "entitled"


@pytest.mark.django_db
def test_retire_key_refuses_the_active_key_and_an_unknown_one(keys):
    active = signing.active_key().kid.hex()
    with pytest.raises(CommandError, match="active key"):
        call_command("retire_key", active)
    with pytest.raises(CommandError, match="no key"):
        call_command("retire_key", "00" * 8)
    with pytest.raises(CommandError, match="16 hex"):
        call_command("retire_key", "not-hex")
    assert signing.retired_key_ids() == frozenset()


@pytest.mark.django_db
def test_desk_action_retires_the_key_for_administrators_only(keys, users):
    world = build_world(users, households=1)
    signing.key_create()
    url = "/desk/distribution/card/"
    body = {"action": "retire_signing_keys", "_selected_action": [world.cards[0].pk]}
    registrar = Client()
    registrar.force_login(users["registrar"])
    # The desk does not offer the action to a registrar: the list comes back and no key is retired.
    assert registrar.post(url, body).status_code in (302, 403)
    assert signing.retired_key_ids() == frozenset()
    admin = Client()
    admin.force_login(users["admin"])
    assert admin.post(url, body).status_code == 302
    assert signing.retired_key_ids() == {bytes.fromhex(world.cards[0].key_id)}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_scanning_page_offline_refuses_a_card_of_a_retired_key(keys, users, station):  # noqa: F811
    from playwright.sync_api import expect

    world = build_world(users, households=2)
    _retire_world_key(world)
    page = station(users["distribution"])
    expect(page.locator("#manifest-info")).to_contain_text("cards")
    page.context.set_offline(True)
    wedge(page, world.code(0))
    expect(page.locator("#verdict-title")).to_have_text("INVALID CARD")
    expect(page.locator("#verdict-message")).to_contain_text("retired")
