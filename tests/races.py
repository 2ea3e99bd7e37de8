"""The one race harness: conflicting services run from many threads on MariaDB, invariants after each round.

Two tools:

- :func:`race` runs ``rounds`` rounds; each builds a fresh situation, starts every action at once
  (a barrier), and checks the invariants when all are done. Only refusals a user would see
  (ValidationError, DocumentError, PermissionDenied) may end an action; anything else fails the round.
- :func:`stall_before_write` makes a race deterministic: the thread that enters it stops just before its
  first write of ``model`` (pre_save, after any lock the save takes) until ``release`` is set or
  ``timeout`` passes. A fixed service holds its lock across the stall, so the other side waits
  instead of slipping in; the timeout lets the stalled side go on.

Rounds are bounded by count (``RELIEF_RACE_ROUNDS`` scales them) so the suite stays within its time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection
from django.db.models.signals import pre_delete, pre_save

from relief.core.documents import DocumentError

REFUSALS = (ValidationError, DocumentError, PermissionDenied)


def rounds(n: int) -> int:
    """``n`` scaled by RELIEF_RACE_ROUNDS (a factor: 0.5 halves, 4 quadruples), at least 1."""
    return max(1, round(n * float(os.environ.get("RELIEF_RACE_ROUNDS", "1"))))


def run_threads(actions: Sequence[Callable[[], object]], *, timeout: float = 120) -> list[object]:
    """Run each action in its own thread, all released at once; returns each result or the exception raised."""
    results: list[object] = [None] * len(actions)
    barrier = threading.Barrier(len(actions))

    def wrapped(i: int) -> None:
        try:
            barrier.wait()
            results[i] = actions[i]()
        except BaseException as exc:  # noqa: BLE001 - returned to the caller, who judges it
            results[i] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=wrapped, args=(i,)) for i in range(len(actions))]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout)
    assert not any(t.is_alive() for t in pool), "a racing action never finished"
    return results


@dataclass
class Tally:
    rounds: int = 0
    failures: list[str] = field(default_factory=list)
    refusals: int = 0

    def __str__(self) -> str:
        return f"{self.rounds} rounds, {len(self.failures)} failed, {self.refusals} refusals"


def race(*, rounds: int, setup: Callable[[int], object], actions: Callable[[object], Sequence[Callable[[], object]]],
         invariants: Callable[[object], list[str]]) -> Tally:
    """Run the round ``rounds`` times; returns the tally (the caller asserts ``tally.failures == []``)."""
    tally = Tally()
    for n in range(rounds):
        world = setup(n)
        results = run_threads(actions(world))
        close_old_connections()
        tally.rounds += 1
        for result in results:
            if isinstance(result, REFUSALS):
                tally.refusals += 1
            elif isinstance(result, BaseException):
                tally.failures.append(f"round {n}: {type(result).__name__}: {result}")
        tally.failures += [f"round {n}: {problem}" for problem in invariants(world)]
    return tally


@contextmanager
def stall_before_write(model, *, release: threading.Event, reached: threading.Event | None = None,
                       timeout: float = 2.0, delete: bool = False):
    """In the calling thread only, set ``reached`` and wait for ``release`` (or ``timeout``) before the first
    write (or delete) of ``model``."""
    me = threading.get_ident()
    done = []

    def receiver(sender, instance, **kwargs):
        if threading.get_ident() == me and not done:
            done.append(True)
            if reached is not None:
                reached.set()
            release.wait(timeout)

    signal = pre_delete if delete else pre_save
    signal.connect(receiver, sender=model, weak=False)
    try:
        yield
    finally:
        signal.disconnect(receiver, sender=model)


def wait_until(condition: Callable[[], bool], *, timeout: float = 10, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return False
