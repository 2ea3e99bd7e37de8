"""Signals other packages listen to.

``household_merged`` is sent inside the merge transaction with ``survivor=`` and ``merged=``
households: shelter and distribution connect receivers that move their own rows (allocations,
cards) to the survivor. A receiver that raises rolls the whole merge back.
"""

from django.dispatch import Signal

household_merged = Signal()
