"""Signals shelter sends to the packages above it, inside the transaction that changed the allocations.

``allocations_started``: allocations=[…] that just began (a plot allocated at the desk, by a plan, by a
relocation or a merge); distribution gives the household its site's new-arrival package.
``allocations_ended``: allocations=[…] that just ended (with their ``end_reason``); distribution cancels what
of that package is still uncollected. A receiver that raises rolls the whole action back.
"""

from django.dispatch import Signal

allocations_started = Signal()
allocations_ended = Signal()
