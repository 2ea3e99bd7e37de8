"""Shelter's answers to other packages' signals."""

from __future__ import annotations

from relief.shelter import services


def move_to_survivor(sender, *, survivor, merged, user=None, **kwargs) -> None:
    """A merged household's plot and waiting-list place go to the survivor, in the merge transaction."""
    services.household_merge_move(user=user, survivor=survivor, merged=merged)
