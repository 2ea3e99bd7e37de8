"""Signals other packages listen to.

``household_merged`` is sent inside the merge transaction with ``survivor=`` and ``merged=``
households: shelter and distribution connect receivers that move their own rows (allocations,
cards) to the survivor. A receiver that raises rolls the whole merge back.
"""

from django.dispatch import Signal

household_merged = Signal()

# Lifecycle, sent inside the lifecycle transaction after the household rows are locked and changed, so that
# every package carries its own rows along (shelter: allocations and waiting entries; distribution: cards,
# entitlements, reservations) and the receivers take their locks after the household's, in the house order.
# ``households_left``: households=[…], reason= (an ExitReason), on= (date), note=, user=.
households_left = Signal()
# ``households_transferred``: households=[…] (already in their new site), from_site_ids={household pk: site pk},
# note=, user=.
households_transferred = Signal()
# ``households_reactivated``: households=[…], user=.
households_reactivated = Signal()
