"""The site's Ed25519 card-signing keys.

Keys live in ``sites/<site>/keys/<kid>.pem`` (mode 600); ``active`` names the key that
signs. A new key can be added and made active while the old ones still verify. A key that may have leaked
is retired (``relief retire-key KID``): its id is added to ``retired`` and no card it signed verifies again.
The key id is the first 8 bytes of the SHA-256 of the raw public key, as in the
EU Digital COVID Certificate.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from relief.config import SiteConfig


class SigningKeyError(Exception):
    pass


class UnknownKey(SigningKeyError):
    pass


class NoSigningKey(SigningKeyError):
    pass


@dataclass(frozen=True)
class SigningKey:
    kid: bytes
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_raw: bytes) -> bytes:
    return hashlib.sha256(public_raw).digest()[:8]


def keys_dir() -> Path:
    site_config: SiteConfig = settings.SITE_CONFIG
    return site_config.keys_dir


_cache: dict[tuple, dict[bytes, SigningKey]] = {}


def _load(directory: Path) -> dict[bytes, SigningKey]:
    """Read every key in the folder; cached per folder state so a rotation is seen at once."""
    if not directory.exists():
        return {}
    files = sorted(directory.glob("*.pem"))
    stamp = (str(directory), tuple((f.name, f.stat().st_mtime_ns) for f in files))
    if stamp in _cache:
        return _cache[stamp]
    keys: dict[bytes, SigningKey] = {}
    for path in files:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyError(f"{path.name}: not an Ed25519 key")
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys[key_id(raw)] = SigningKey(kid=key_id(raw), private=private)
    _cache.clear()
    _cache[stamp] = keys
    return keys


def all_keys(directory: Path | None = None) -> dict[bytes, SigningKey]:
    return _load(directory or keys_dir())


def public_keys(directory: Path | None = None) -> dict[bytes, bytes]:
    """Key id → raw public key, for scanners verifying offline."""
    return {kid: key.public_raw for kid, key in all_keys(directory).items()}


def active_key(directory: Path | None = None) -> SigningKey:
    directory = directory or keys_dir()
    keys = all_keys(directory)
    marker = directory / "active"
    if not marker.exists() or not keys:
        raise NoSigningKey(f"no active signing key in {directory}: run `relief --site <site> rotate-key`")
    kid = bytes.fromhex(marker.read_text().strip())
    if kid not in keys:
        raise NoSigningKey(f"the active key {kid.hex()} is missing from {directory}")
    return keys[kid]


def key_create(directory: Path | None = None, *, activate: bool = True) -> SigningKey:
    directory = directory or keys_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = SigningKey(kid=key_id(raw), private=private)
    path = directory / f"{key.kid.hex()}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    if activate:
        tmp = directory / "active.tmp"
        tmp.write_text(key.kid.hex() + "\n")
        os.replace(tmp, directory / "active")
    return key


RETIRED_FILE = "retired"


def retired_key_ids(directory: Path | None = None) -> frozenset[bytes]:
    """Ids of the keys retired on this site (distrusted: what they signed no longer verifies)."""
    path = (directory or keys_dir()) / RETIRED_FILE
    if not path.exists():
        return frozenset()
    return frozenset(bytes.fromhex(line.strip()) for line in path.read_text().splitlines() if line.strip())


def key_retire(kid_hex: str, directory: Path | None = None) -> bytes:
    """Retire the key ``kid_hex``; refused for an unknown key or the active one (rotate first). Idempotent."""
    directory = directory or keys_dir()
    try:
        kid = bytes.fromhex(kid_hex.strip())
    except ValueError:
        raise SigningKeyError(f"{kid_hex!r}: a key id is 16 hex digits (see the card's key id)") from None
    if kid not in all_keys(directory):
        raise UnknownKey(f"no key {kid.hex()} in {directory}")
    marker = directory / "active"
    if marker.exists() and bytes.fromhex(marker.read_text().strip()) == kid:
        raise SigningKeyError(f"{kid.hex()} is the active key: run `relief rotate-key` first, then retire it")
    retired = retired_key_ids(directory) | {kid}
    tmp = directory / f"{RETIRED_FILE}.tmp"
    tmp.write_text("".join(f"{k.hex()}\n" for k in sorted(retired)))
    os.replace(tmp, directory / RETIRED_FILE)
    return kid


def sign(data: bytes, directory: Path | None = None) -> tuple[bytes, bytes]:
    """Sign with the active key; returns (key id, signature)."""
    key = active_key(directory)
    return key.kid, key.private.sign(data)


def verify(kid: bytes, data: bytes, signature: bytes, directory: Path | None = None) -> bool:
    """True when the signature is good; UnknownKey when no key has that id."""
    key = all_keys(directory).get(kid)
    if key is None:
        raise UnknownKey(f"unknown key id {kid.hex()}")
    try:
        key.public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
