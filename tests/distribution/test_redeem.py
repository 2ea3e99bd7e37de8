"""Verify and redeem: one verdict per scan, stock issued once in the same transaction."""

import uuid

import pytest
from django.core.exceptions import ValidationError

from relief.distribution import services
from relief.distribution.models import Entitlement, Redemption, RedemptionLine
from relief.inventory.models import StockLedgerEntry


def redeem(world, n=0, **kw):
    kw.setdefault("client_id", str(uuid.uuid4()))
    return services.redemption_record(code=world.code(n), event=world.event, user=world.users["distribution"], **kw)


def issued(world, item):
    return -sum(StockLedgerEntry.objects.filter(item=world.items[item], warehouse=world.points["NYA"],
                                                voucher_type="redemption").values_list("qty", flat=True))


@pytest.mark.smoke
@pytest.mark.django_db
def test_entitled_then_redeemed_then_already_collected(world):
    result = services.scan_verify(code=world.code(2), event=world.event)
    assert result.verdict == "entitled"
    # Size 5: 5 blankets, ceil(5/2) = 3 nets, 1 jerrycan.
    assert {e["item"]: e["qty"] for e in result.entitlements} == {"BLK": 5, "NET": 3, "JRC": 1}
    assert result.household["size"] == 5 and result.household["head_initials"] == "A.N."
    done = redeem(world, 2)
    assert done.verdict == "redeemed"
    assert issued(world, "BLK") == 5 and issued(world, "NET") == 3
    again = services.scan_verify(code=world.code(2), event=world.event)
    assert again.verdict == "already_collected"
    assert again.collected["lane"] == 1
    assert redeem(world, 2).verdict == "already_collected"
    assert issued(world, "BLK") == 5


@pytest.mark.django_db
def test_same_client_id_returns_first_answer_and_hands_over_nothing_more(world):
    first = redeem(world, 1, client_id="device-7-0001")
    retry = redeem(world, 1, client_id="device-7-0001")
    assert retry.verdict == "redeemed" and retry.replayed
    assert retry.redemption["id"] == first.redemption["id"]
    # A "retry" carrying another card's code is not a retry: refused, never answered with the first scan.
    with pytest.raises(ValidationError) as caught:
        redeem(world, 2, client_id="device-7-0001")
    assert "client_id" in caught.value.message_dict
    assert Redemption.objects.count() == 1
    assert issued(world, "BLK") == 2


@pytest.mark.django_db
def test_partial_hand_over_needs_a_reason_per_short_item(world):
    with pytest.raises(ValidationError) as caught:
        redeem(world, 2, lines=[services.HandOverLine(item="BLK", qty=3)])
    assert "lines.0.reason" in caught.value.message_dict
    with pytest.raises(ValidationError):
        redeem(world, 2, lines=[services.HandOverLine(item="BLK", qty=9, reason="other")])
    with pytest.raises(ValidationError):
        redeem(world, 2, lines=[services.HandOverLine(item="SOAP", qty=1)])
    assert Redemption.objects.count() == 0
    result = redeem(world, 2, lines=[services.HandOverLine(item="BLK", qty=3, reason="out_of_stock")])
    assert result.redemption["partial"]
    assert {ln["item"]: ln["qty"] for ln in result.redemption["lines"]} == {"BLK": 3, "NET": 3, "JRC": 1}
    assert issued(world, "BLK") == 3
    assert RedemptionLine.objects.get(item=world.items["BLK"]).short_reason == "out_of_stock"


@pytest.mark.django_db
def test_alternate_collector_must_be_registered_for_the_household(world):
    collector = world.households[0].alternate_collectors.get()
    verdict = services.scan_verify(code=world.code(0), event=world.event)
    assert [c["id"] for c in verdict.collectors] == [collector.pk]
    with pytest.raises(ValidationError):
        redeem(world, 1, collector="alternate", alternate_collector_id=collector.pk)
    result = redeem(world, 0, collector="alternate", alternate_collector_id=collector.pk)
    assert result.redemption["collector"] == "alternate"


@pytest.mark.django_db
def test_card_of_another_site_is_wrong_event(world):
    ndu_card = world.cards[-1]
    assert services.scan_verify(code=ndu_card.code, event=world.event).verdict == "wrong_event"
    assert services.redemption_record(code=ndu_card.code, event=world.event, client_id="x1",
                                      user=world.users["distribution"]).verdict == "wrong_event"
    assert Redemption.objects.count() == 0


@pytest.mark.django_db
def test_replaced_and_revoked_cards_are_revoked_for_good(world):
    new = services.card_replace(card=world.cards[1], reason="lost", user=world.users["registrar"])
    assert new.generation == 2 and new.serial != world.cards[1].serial
    assert services.scan_verify(code=world.cards[1].code, event=world.event).verdict == "revoked"
    assert services.scan_verify(code=new.code, event=world.event).verdict == "entitled"
    services.card_revoke(card=new, user=world.users["registrar"], note="fraud")
    assert services.redemption_record(code=new.code, event=world.event, client_id="r1",
                                      user=world.users["distribution"]).verdict == "revoked"
    assert Redemption.objects.count() == 0 and issued(world, "BLK") == 0


@pytest.mark.django_db
def test_forged_and_malformed_codes_are_invalid_and_record_nothing(world):
    code = world.code(0)
    forged = code[:-3] + ("AAA" if code[-3:] != "AAA" else "BBB")
    for bad in (forged, "RC1:%%%", "x" * 5000, "", "HH-NYA-000001"):
        result = services.redemption_record(code=bad, event=world.event, client_id=str(uuid.uuid4()),
                                            user=world.users["distribution"])
        assert result.verdict == "invalid"
    assert Redemption.objects.count() == 0


@pytest.mark.django_db
def test_household_with_no_entitlement_is_not_entitled(world, users):
    from tests.distribution.conftest import register

    late = register(users["admin"], world.sites["NYA"], size=2)
    card = services.cards_issue(households=[late], user=users["admin"])[0]
    assert services.scan_verify(code=card.code, event=world.event).verdict == "not_entitled"


@pytest.mark.django_db
def test_closed_event_refuses_scans(world):
    services.event_close(event=world.event, user=world.users["admin"], counts=[
        services.CloseOutCount(item=code, counted=500) for code in ("BLK", "NET", "JRC")])
    world.event.refresh_from_db()
    assert services.scan_verify(code=world.code(0), event=world.event).verdict == "wrong_event"
    assert Entitlement.objects.filter(status="redeemed").count() == 0
