"""Shelter's answers to other packages' signals."""

from __future__ import annotations

from relief.shelter import services


def move_to_survivor(sender, *, survivor, merged, user=None, **kwargs) -> None:
    """A merged household's plot and waiting-list place go to the survivor, in the merge transaction."""
    services.household_merge_move(user=user, survivor=survivor, merged=merged)


def households_left(sender, *, households, reason, user=None, note="", **kwargs) -> None:
    services.households_left_move(user=user, households=households, reason=reason, note=note)


def households_transferred(sender, *, households, user=None, note="", **kwargs) -> None:
    services.households_transferred_move(user=user, households=households, note=note)


def households_reactivated(sender, *, households, user=None, **kwargs) -> None:
    services.households_reactivated_move(user=user, households=households)
