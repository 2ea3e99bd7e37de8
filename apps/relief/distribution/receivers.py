"""Distribution's answers to other packages' signals, inside the transaction that sent them."""

from __future__ import annotations

from relief.distribution import services


def households_left(sender, *, households, reason, user=None, note="", **kwargs) -> None:
    services.households_left_carry(households=households, user=user, note=note, reason=reason)


def households_transferred(sender, *, households, from_site_ids, user=None, note="", **kwargs) -> None:
    services.households_transferred_carry(households=households, from_site_ids=from_site_ids, user=user, note=note)


def households_reactivated(sender, *, households, user=None, **kwargs) -> None:
    services.households_reactivated_carry(households=households, user=user)
