"""The card token: round trip, size, and a verdict of `invalid` for everything else."""

from datetime import date

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relief.core import signing
from relief.distribution import cardtoken as ct

CLAIMS = ct.CardClaims(serial="NYA-0000123", generation=2, household="HH-NYA-000123", issued=date(2026, 3, 1),
                       site="NYA")


def _envelope(code: str) -> list:
    tag = cbor2.loads(base45.b45decode(code[len(ct.PREFIX):]))
    return list(tag.value)


def _pack(parts: list) -> str:
    return ct.PREFIX + base45.b45encode(cbor2.dumps(cbor2.CBORTag(18, parts))).decode()


def _reason(code) -> str:
    with pytest.raises(ct.CardTokenInvalid) as caught:
        ct.decode(code)
    return caught.value.reason


@pytest.mark.smoke
def test_round_trip_and_fits_qr_version_10_at_m():
    code = ct.encode(CLAIMS)
    assert code.startswith("RC1:")
    token = ct.decode(code)
    assert token.claims == CLAIMS
    assert token.kid == signing.active_key().kid
    symbol = ct.qr(code)
    assert symbol.version <= 10 and symbol.error == "M"
    # A wedge scanner sends Enter after the code.
    assert ct.decode(code + "\r\n").claims == CLAIMS


def test_longest_fields_still_fit_version_10():
    claims = ct.CardClaims(serial="X" * 20, generation=9999, household="H" * 30, issued=date(2099, 12, 31),
                           site="ABCDEFGH")
    assert ct.qr(ct.encode(claims)).version <= 10


def test_token_carries_no_personal_data():
    payload = cbor2.loads(_envelope(ct.encode(CLAIMS))[2])
    assert set(payload.values()) == {"NYA", "NYA-0000123", "HH-NYA-000123", 2, 1, 1772323200}


@pytest.mark.smoke
def test_forged_signature_is_bad_signature():
    parts = _envelope(ct.encode(CLAIMS))
    parts[3] = bytes([parts[3][0] ^ 1]) + parts[3][1:]
    assert _reason(_pack(parts)) == "bad_signature"


def test_tampered_payload_is_bad_signature():
    parts = _envelope(ct.encode(CLAIMS))
    claims = cbor2.loads(parts[2])
    claims[ct.CLAIM_HOUSEHOLD] = "HH-NYA-000999"
    parts[2] = cbor2.dumps(claims)
    assert _reason(_pack(parts)) == "bad_signature"


def test_card_signed_by_a_key_this_site_does_not_know_is_unknown_key(tmp_path):
    signing.key_create(tmp_path)
    foreign = ct.encode(CLAIMS, directory=tmp_path)
    assert ct.decode(foreign, directory=tmp_path).claims == CLAIMS
    assert _reason(foreign) == "unknown_key"


def test_signature_moved_to_another_key_id_is_unknown_key():
    parts = _envelope(ct.encode(CLAIMS))
    parts[0] = cbor2.dumps({1: -8, 4: b"\x00" * 8})
    assert _reason(_pack(parts)) == "unknown_key"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "unreadable"),
        ("HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC", "unreadable"),
        ("RC1:", "malformed"),
        ("RC1:not base45 ~~", "unreadable"),
        ("RC1:" + "A" * 600, "oversized"),
        ("HH-NYA-000123", "unreadable"),
        (None, "unreadable"),
        (12345, "unreadable"),
    ],
)
def test_malformed_codes(code, reason):
    assert _reason(code) == reason


def test_structural_changes_are_malformed():
    good = _envelope(ct.encode(CLAIMS))
    untagged = ct.PREFIX + base45.b45encode(cbor2.dumps(good)).decode()
    assert _reason(untagged) == "malformed"
    assert _reason(_pack(good[:3])) == "malformed"
    assert _reason(_pack([good[0], {4: b"x" * 8}, good[2], good[3]])) == "malformed"
    assert _reason(_pack([cbor2.dumps({1: -7, 4: good[0][-8:]}), {}, good[2], good[3]])) == "malformed"
    trailing = ct.PREFIX + base45.b45encode(cbor2.dumps(cbor2.CBORTag(18, good)) + b"\x00").decode()
    assert _reason(trailing) == "malformed"


def test_signed_payload_with_wrong_claims_is_malformed():
    """A payload signed by our own key but not in the card format (e.g. a future version) is refused."""
    key = signing.active_key()
    protected = cbor2.dumps({1: -8, 4: key.kid})
    for claims in ({1: "NYA"}, {**ct._claims_map(CLAIMS), ct.CLAIM_VERSION: 2},
                   {**ct._claims_map(CLAIMS), ct.CLAIM_IAT: 1772323201},
                   {**ct._claims_map(CLAIMS), ct.CLAIM_SERIAL: "nya 1"}):
        payload = cbor2.dumps(claims)
        signature = key.private.sign(ct.sig_structure(protected, payload))
        assert _reason(_pack([protected, {}, payload, signature])) == "malformed"


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=700))
def test_any_text_is_valid_or_invalid_never_an_error(text):
    with pytest.raises(ct.CardTokenInvalid):
        ct.decode(text)


@settings(max_examples=50, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_refused(position, flip):
    raw = bytearray(base45.b45decode(ct.encode(CLAIMS)[4:]))
    raw[position % len(raw)] ^= flip
    with pytest.raises(ct.CardTokenInvalid):
        ct.decode(ct.PREFIX + base45.b45encode(bytes(raw)).decode())
