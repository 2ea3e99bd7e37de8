"""The signed token in a card's QR code: ``RC1:`` + base45(COSE_Sign1(CWT-style claims)).

The token says which card it is and nothing personal: format version, card serial,
generation, household number, issue date and site, signed with the site's Ed25519
key (key id in the protected header, as in the EU Digital COVID Certificate).
The Sig_structure is built here per RFC 9052 §4.4 rather than through pycose, which
has been unmaintained since 2023; it is four CBOR items.

There is no zlib step (unlike ``HC1:``): the payload is ~60 bytes and the 64-byte
signature is random, so compression saves nothing and would cost the scanner page
an inflate step.

Decoding is strict: anything that is not exactly this shape is ``CardTokenInvalid``,
with a reason the scanning page can show (never the token's contents).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import base45
import cbor2
import segno

from relief.core import signing

PREFIX = "RC1:"
FORMAT_VERSION = 1
# A real token is ~200 characters; anything much longer is refused before decoding.
MAX_CODE_CHARS = 512
MAX_QR_VERSION = 10

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
ALG_EDDSA = -8
KID_BYTES = 8
SIGNATURE_BYTES = 64

# CWT registered claims, then private ones (negative keys encode in one byte).
CLAIM_ISS = 1  # site code
CLAIM_IAT = 6  # issue date, as midnight UTC
CLAIM_VERSION = -1
CLAIM_SERIAL = -2
CLAIM_GENERATION = -3
CLAIM_HOUSEHOLD = -4
CLAIM_KEYS = {CLAIM_ISS, CLAIM_IAT, CLAIM_VERSION, CLAIM_SERIAL, CLAIM_GENERATION, CLAIM_HOUSEHOLD}

SERIAL_RE = re.compile(r"[A-Z0-9-]{1,20}")
HOUSEHOLD_RE = re.compile(r"[A-Za-z0-9/-]{1,30}")
SITE_RE = re.compile(r"[A-Za-z0-9]{1,8}")


class CardTokenInvalid(Exception):
    """The code is not a valid card token; ``reason`` is one of REASONS."""

    REASONS = ("unreadable", "malformed", "bad_signature", "unknown_key", "retired_key", "oversized")

    def __init__(self, reason: str):
        assert reason in self.REASONS
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CardClaims:
    serial: str
    generation: int
    household: str
    issued: date
    site: str
    version: int = FORMAT_VERSION


@dataclass(frozen=True)
class VerifiedToken:
    claims: CardClaims
    kid: bytes


def _claims_map(claims: CardClaims) -> dict:
    iat = int(datetime(claims.issued.year, claims.issued.month, claims.issued.day, tzinfo=UTC).timestamp())
    return {
        CLAIM_ISS: claims.site,
        CLAIM_IAT: iat,
        CLAIM_VERSION: claims.version,
        CLAIM_SERIAL: claims.serial,
        CLAIM_GENERATION: claims.generation,
        CLAIM_HOUSEHOLD: claims.household,
    }


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """RFC 9052 §4.4: the bytes that are signed, with no external AAD."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode(claims: CardClaims, *, directory: Path | None = None) -> str:
    """Sign the claims with the site's active key and return the QR text."""
    payload = cbor2.dumps(_claims_map(claims))
    key = signing.active_key(directory)
    protected = cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: key.kid})
    _kid, signature = signing.sign(sig_structure(protected, payload), directory)
    envelope = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + base45.b45encode(envelope).decode("ascii")


def qr(code: str, *, mask: int | None = None) -> segno.QRCode:
    """The card's QR symbol: error correction M, at most version 10 (fits beside the text on an ID-1 card).

    A fixed ``mask`` skips scoring all eight masks, which is most of the encoding time when printing thousands.
    """
    symbol = segno.make_qr(code, error="m", boost_error=False, mask=mask)
    if symbol.version > MAX_QR_VERSION:
        raise ValueError(f"card token needs QR version {symbol.version}; at most {MAX_QR_VERSION} fits a card")
    return symbol


def _cbor_exact(data: bytes):
    """Decode one CBOR item that must use every byte (cbor2.loads ignores trailing data)."""
    stream = io.BytesIO(data)
    value = cbor2.CBORDecoder(stream).decode()
    if stream.tell() != len(data):
        raise ValueError("trailing bytes")
    return value


def _is_int(value) -> bool:
    return type(value) is int


def decode(code: str, *, directory: Path | None = None) -> VerifiedToken:
    """Parse and verify a scanned code; raise CardTokenInvalid for anything else."""
    if not isinstance(code, str):
        raise CardTokenInvalid("unreadable")
    # Keyboard-wedge scanners end the code with Enter; some add spaces.
    code = code.strip()
    if len(code) > MAX_CODE_CHARS:
        raise CardTokenInvalid("oversized")
    if not code.startswith(PREFIX):
        raise CardTokenInvalid("unreadable")
    try:
        raw = base45.b45decode(code[len(PREFIX):])
    except (ValueError, KeyError, IndexError):
        raise CardTokenInvalid("unreadable") from None

    try:
        envelope = _cbor_exact(raw)
        if not (isinstance(envelope, cbor2.CBORTag) and envelope.tag == COSE_SIGN1_TAG):
            raise ValueError("not COSE_Sign1")
        parts = envelope.value
        # cbor2 hands back the content of a tag as immutable tuple / frozendict.
        if not (isinstance(parts, list | tuple) and len(parts) == 4):
            raise ValueError("COSE_Sign1 has four parts")
        protected, unprotected, payload, signature = parts
        if not (isinstance(protected, bytes) and isinstance(payload, bytes) and isinstance(signature, bytes)):
            raise ValueError("parts must be byte strings")
        if not isinstance(unprotected, Mapping) or len(unprotected) or len(signature) != SIGNATURE_BYTES:
            raise ValueError("unexpected header or signature size")
        header = _cbor_exact(protected)
        if not (isinstance(header, Mapping) and set(header) == {HEADER_ALG, HEADER_KID}):
            raise ValueError("protected header")
        kid = header[HEADER_KID]
        if header[HEADER_ALG] != ALG_EDDSA or not (isinstance(kid, bytes) and len(kid) == KID_BYTES):
            raise ValueError("algorithm or key id")
    except Exception:  # noqa: BLE001 - any decoder failure on outside input is just "malformed"
        raise CardTokenInvalid("malformed") from None

    # A retired key may have leaked: whatever it signed is refused, however good the signature.
    if kid in signing.retired_key_ids(directory):
        raise CardTokenInvalid("retired_key")
    try:
        good = signing.verify(kid, sig_structure(protected, payload), signature, directory)
    except signing.UnknownKey:
        raise CardTokenInvalid("unknown_key") from None
    if not good:
        raise CardTokenInvalid("bad_signature")

    # Signed by us, so a shape error here means a format we no longer read.
    try:
        claims = _cbor_exact(payload)
        if not (isinstance(claims, Mapping) and set(claims) == CLAIM_KEYS):
            raise ValueError("claim set")
        version, serial = claims[CLAIM_VERSION], claims[CLAIM_SERIAL]
        generation, household = claims[CLAIM_GENERATION], claims[CLAIM_HOUSEHOLD]
        site, iat = claims[CLAIM_ISS], claims[CLAIM_IAT]
        if not (_is_int(version) and version == FORMAT_VERSION):
            raise ValueError("version")
        if not (isinstance(serial, str) and SERIAL_RE.fullmatch(serial)):
            raise ValueError("serial")
        if not (_is_int(generation) and 1 <= generation <= 9999):
            raise ValueError("generation")
        if not (isinstance(household, str) and HOUSEHOLD_RE.fullmatch(household)):
            raise ValueError("household")
        if not (isinstance(site, str) and SITE_RE.fullmatch(site)):
            raise ValueError("site")
        if not (_is_int(iat) and iat >= 0 and iat % 86400 == 0):
            raise ValueError("issue date")
        issued = datetime.fromtimestamp(iat, tz=UTC).date()
    except Exception:  # noqa: BLE001
        raise CardTokenInvalid("malformed") from None
    return VerifiedToken(
        claims=CardClaims(serial=serial, generation=generation, household=household, issued=issued, site=site,
                          version=version),
        kid=kid,
    )
