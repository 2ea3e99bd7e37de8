"""The exception lane: lookup at the table, a supervisor's approval, on-site card replacement, one-card print."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from relief.core.services import api_token_create
from relief.distribution import selectors, services
from relief.distribution.models import Card, Redemption


@pytest.fixture(autouse=True)
def _no_pin_lock():
    """The PIN lockout lives in the shared cache: each test starts unlocked."""
    from django.core.cache import cache

    cache.delete("relief:approval-pin:manager")
    yield
    cache.delete("relief:approval-pin:manager")


def hand_over(world, n, **kw):
    kw.setdefault("reason", "forgotten")
    return services.redemption_record_exception(
        event=world.event, household_number=world.households[n].number, client_id=str(uuid.uuid4()),
        user=world.users["distribution"], **kw)


@pytest.mark.django_db
def test_lookup_finds_a_household_by_serial_number_or_unhcr_id_within_the_event_site(world):
    household = world.households[1]
    household.unhcr_group_id = "TZA-NYA-123456"
    household.save(update_fields=["unhcr_group_id"])
    for query in (world.cards[1].serial.lower(), household.number, "tza-nya-123456"):
        found = selectors.household_lookup(event=world.event, query=query, site_ids=None)
        assert [h["number"] for h in found] == [household.number]
    assert found[0]["verdict"]["verdict"] == "entitled" and found[0]["card"] == world.cards[1].serial
    # A Nduta household is not found at Nyarugusu's event; a user of another site finds nothing.
    assert selectors.household_lookup(event=world.event, query=world.households[-1].number, site_ids=None) == []
    assert selectors.household_lookup(event=world.event, query=household.number,
                                      site_ids={world.sites["NDU"].pk}) == []


@pytest.mark.django_db
def test_exception_needs_a_second_persons_approval_by_pin_or_device_token(world):
    manager, team = world.users["manager"], world.users["distribution"]
    with pytest.raises(ValidationError) as refused:
        hand_over(world, 0)
    assert "approver" in refused.value.message_dict
    services.approval_pin_set(user=manager, pin="482913")
    with pytest.raises(ValidationError):
        hand_over(world, 0, approver_username="manager", approver_pin="000000")
    # The one at the table cannot approve their own exception, nor may a user without the right.
    with pytest.raises(ValidationError):
        hand_over(world, 0, approver_username="distribution", approver_pin="482913")
    with pytest.raises(ValidationError):
        hand_over(world, 0, reason="other", approver_username="manager", approver_pin="482913")  # no note
    assert not Redemption.objects.exists()

    done = hand_over(world, 0, reason="unreadable", lane=2, approver_username="manager", approver_pin="482913")
    assert done.verdict == "redeemed"
    redemption = Redemption.objects.get()
    assert (redemption.exception_reason, redemption.approved_by, redemption.lane, redemption.user) == (
        "unreadable", manager, 2, team)
    # By the supervisor's device token instead of a PIN.
    token = api_token_create(user=manager, name="supervisor phone")[1]
    assert hand_over(world, 1, approver_token=token).verdict == "redeemed"
    assert hand_over(world, 1, approver_token=token).verdict == "already_collected"
    report = selectors.event_progress(world.event)["exceptions"]
    assert [(x["lane"], x["approver"], x["n"]) for x in report] == [(1, "manager", 1), (2, "manager", 1)]


@pytest.mark.django_db
def test_five_wrong_pins_lock_the_supervisor(world):
    services.approval_pin_set(user=world.users["manager"], pin="482913")
    for _ in range(5):
        with pytest.raises(ValidationError):
            hand_over(world, 0, approver_username="manager", approver_pin="111111")
    with pytest.raises(ValidationError) as locked:
        hand_over(world, 0, approver_username="manager", approver_pin="482913")
    assert "too many" in str(locked.value)


@pytest.mark.django_db
def test_card_replaced_at_the_table_revokes_the_old_one_and_prints_one_card(world):
    services.approval_pin_set(user=world.users["manager"], pin="482913")
    old = world.cards[2]
    with pytest.raises(ValidationError):
        services.card_replace_at_table(event=world.event, household_number=world.households[2].number,
                                       reason="lost", user=world.users["distribution"])
    new = services.card_replace_at_table(event=world.event, household_number=world.households[2].number,
                                         reason="lost", user=world.users["distribution"],
                                         approver_username="manager", approver_pin="482913")
    old.refresh_from_db()
    assert old.status == "lost" and new.generation == old.generation + 1
    assert services.scan_verify(code=old.code, event=world.event).verdict == "revoked"
    assert old.serial in selectors.event_manifest(world.event)["revoked"]
    assert services.scan_verify(code=new.code, event=world.event).verdict == "entitled"

    team = Client()
    team.force_login(world.users["distribution"])
    pdf = team.get(f"/distribution/cards/{new.serial}/card.pdf?size=a6")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    import io

    import pypdfium2

    page = pypdfium2.PdfDocument(io.BytesIO(pdf.content))[0]
    assert len(pypdfium2.PdfDocument(io.BytesIO(pdf.content))) == 1
    assert round(page.get_width() / 72 * 25.4) == 105  # A6
    assert new.prints.count() == 1
    # Not a card this user made at the table: refused.
    assert team.get(f"/distribution/cards/{world.cards[1].serial}/card.pdf").status_code == 403
    assert team.get(f"/distribution/cards/{old.serial}/card.pdf").status_code == 404
    registrar = Client()
    registrar.force_login(world.users["registrar"])
    card = registrar.get(f"/distribution/cards/{world.cards[1].serial}/card.pdf")
    assert card.status_code == 200
    page = pypdfium2.PdfDocument(io.BytesIO(card.content))[0]
    assert round(page.get_width() / 72 * 25.4, 1) == 85.6  # ID-1, for a card printer
    assert Card.objects.filter(household=world.households[2], status="active").get() == new
