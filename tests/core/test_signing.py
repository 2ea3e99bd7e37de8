import os
import stat

import pytest

from relief.core import signing


@pytest.mark.smoke
def test_sign_and_verify_with_key_ids(tmp_path):
    key = signing.key_create(tmp_path)
    assert len(key.kid) == 8
    assert stat.S_IMODE(os.stat(tmp_path / f"{key.kid.hex()}.pem").st_mode) == 0o600
    kid, signature = signing.sign(b"card 42", tmp_path)
    assert kid == key.kid
    assert signing.verify(kid, b"card 42", signature, tmp_path)
    assert not signing.verify(kid, b"card 43", signature, tmp_path)


def test_rotation_keeps_old_signatures_valid(tmp_path):
    old = signing.key_create(tmp_path)
    old_kid, old_signature = signing.sign(b"issued last year", tmp_path)
    new = signing.key_create(tmp_path)
    assert signing.active_key(tmp_path).kid == new.kid != old.kid
    new_kid, _ = signing.sign(b"issued today", tmp_path)
    assert new_kid == new.kid
    assert signing.verify(old_kid, b"issued last year", old_signature, tmp_path)
    assert set(signing.public_keys(tmp_path)) == {old.kid, new.kid}


def test_unknown_key_and_missing_key_are_named(tmp_path):
    with pytest.raises(signing.NoSigningKey, match="rotate-key"):
        signing.active_key(tmp_path)
    signing.key_create(tmp_path)
    with pytest.raises(signing.UnknownKey, match="00112233"):
        signing.verify(bytes.fromhex("0011223344556677"), b"x", b"y" * 64, tmp_path)
