"""A test-only pause inside a transaction, so a fault test's SIGKILL lands there every time.

Only when ``RELIEF_FAULT_PAUSE_DIR`` is set (the fault tests set it for the processes they start; nothing
else does) ``fault_point(name)`` writes ``<dir>/<name>.<pid>`` and waits until ``<dir>/<name>.go`` exists
(at most ``RELIEF_FAULT_PAUSE_SECONDS``, 120 by default). A test removes ``<name>.go`` to arm the point,
waits for the pid file, kills that process, and puts ``<name>.go`` back. Unset, it returns at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def fault_point(name: str) -> None:
    folder = os.environ.get("RELIEF_FAULT_PAUSE_DIR")
    if not folder:
        return
    go = Path(folder) / f"{name}.go"
    if go.exists():
        return
    (Path(folder) / f"{name}.{os.getpid()}").touch()
    deadline = time.monotonic() + float(os.environ.get("RELIEF_FAULT_PAUSE_SECONDS", "120"))
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
