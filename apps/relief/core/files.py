"""Files Relief writes that hold secrets or personal data: archives, uploads, exports, reports, key files.

Each is created 0600 in a 0700 folder whatever the process umask (a umask of 0 or 022 would otherwise leave
the registry readable by every local account), and written whole before it takes its name, so a reader never
sees half a file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path, *, only_new: bool = False) -> Path:
    """``path`` (and missing parents) as a folder only the owner reads; returns it. With ``only_new`` a folder
    that already exists keeps its mode (the folder a user named for ``--out``)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing if only_new else [path, *missing]:
        os.chmod(folder, DIR_MODE)
    return path


@contextmanager
def private_file(path: Path, mode: str = "wb") -> Iterator[IO]:
    """Write ``path`` as 0600 (missing folders made 0700; Relief's own folders are made private by
    ``private_dir``); it appears under its name only once complete."""
    path = Path(path)
    private_dir(path.parent, only_new=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def private_write(path: Path, data: bytes | str) -> Path:
    with private_file(path, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    return path


def prune_older_than(folder: Path, *, days: int, now: float | None = None) -> list[Path]:
    """Delete the files of ``folder`` (not below) last changed more than ``days`` ago; returns them."""
    if not folder.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - days * 86400
    removed = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
