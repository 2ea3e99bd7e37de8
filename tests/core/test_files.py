"""Private files: 0600 in 0700 folders whatever the umask, complete before they take their name, and an
operator's own --out folder left as it was (issue 13, item 2)."""

import os
import stat

import pytest

from relief.core.files import private_dir, private_file, private_write, prune_older_than


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0)
    yield
    os.umask(old)


def test_private_write_is_0600_in_new_0700_folders_under_an_open_umask(tmp_path, open_umask):
    path = private_write(tmp_path / "a" / "b" / "report.xlsx", b"data")
    assert _mode(path) == 0o600 and _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
    assert private_dir(tmp_path / "a") == tmp_path / "a"


def test_an_existing_out_folder_keeps_its_mode(tmp_path, open_umask):
    os.chmod(tmp_path, 0o755)
    private_write(tmp_path / "cards.pdf", b"%PDF")
    assert _mode(tmp_path) == 0o755 and _mode(tmp_path / "cards.pdf") == 0o600


def test_a_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError), private_file(tmp_path / "half.bin") as fh:
        fh.write(b"half")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_prune_keeps_what_is_younger_than_the_retention(tmp_path):
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("x")
    new.write_text("y")
    os.utime(old, (0, 0))
    assert prune_older_than(tmp_path, days=7) == [old]
    assert new.exists()
