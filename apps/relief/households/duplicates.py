"""Duplicate detection: households registered twice, within a site or across sites.

Never all pairs: households are grouped into blocks that a duplicate would share — the phonetic
keys of the head's two names (in either order, as names are often written family-first), the
phonetic family name with the birth year, the phone number, the UNHCR group id — and only
pairs inside a block are scored. Inside a name block only heads born within two years of each
other are compared: further apart, the birth-date part of the score is zero and the pair cannot
reach the threshold on names alone.

A pair scores on the head's names (edit distance, either order), the head's date of birth, the
other members' given names, the phone and the UNHCR group id. Pairs already decided (merged or
distinct) are never proposed again.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations

import jellyfish
from rapidfuzz import fuzz
from rapidfuzz.process import extractOne

from relief.households.models import DuplicateCandidate, HouseholdStatus, Member

THRESHOLD = 0.75
YEAR_WINDOW = 2
# A phone shared by more households than this is a leader's or an agency's, not a family's.
PHONE_BLOCK_MAX = 30
WEIGHTS = {"name": 0.35, "dob": 0.30, "members": 0.25, "phone": 0.10}


def normalise(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z ]", "", folded.lower()).strip()


@dataclass
class Head:
    household_id: int
    site_id: int
    given: str
    family: str
    born: date
    estimated: bool
    phone: str
    group_id: str
    others: list[str] = field(default_factory=list)


def name_score(a: Head, b: Head) -> float:
    straight = (fuzz.ratio(a.given, b.given) + fuzz.ratio(a.family, b.family)) / 200
    swapped = (fuzz.ratio(a.given, b.family) + fuzz.ratio(a.family, b.given)) / 200
    return max(straight, swapped)


def dob_score(a: Head, b: Head) -> float:
    if a.born == b.born:
        return 1.0
    days = abs((a.born - b.born).days)
    if a.estimated or b.estimated:
        return 0.7 if days <= 400 else 0.5 if days <= 800 else 0.0
    if a.born.year == b.born.year or (a.born.month, a.born.day) == (b.born.month, b.born.day):
        return 0.6  # a typo in the day or month, or in the year alone
    return 0.2 if days <= 400 else 0.0


def members_score(a: Head, b: Head) -> float:
    if not a.others and not b.others:
        return 0.5
    if not a.others or not b.others:
        return 0.25
    small, large = sorted((a.others, b.others), key=len)
    found = sum(1 for name in small if extractOne(name, large, scorer=fuzz.ratio, score_cutoff=85) is not None)
    return found / len(large)


def score(a: Head, b: Head) -> tuple[float, dict]:
    parts = {
        "name": round(name_score(a, b), 3),
        "dob": dob_score(a, b),
        "members": round(members_score(a, b), 3),
        "phone": 1.0 if a.phone and a.phone == b.phone else 0.0,
    }
    total = sum(WEIGHTS[k] * v for k, v in parts.items())
    if a.group_id and a.group_id == b.group_id:
        parts["group_id"] = 1.0
        total = max(total, 0.95)
    if a.site_id != b.site_id:
        parts["across_sites"] = 1.0
    return round(total, 3), parts


def load_heads(*, site_ids: set[int] | None = None) -> list[Head]:
    heads_qs = Member.objects.filter(is_head=True, active=True, household__status=HouseholdStatus.ACTIVE)
    others_qs = Member.objects.filter(is_head=False, active=True, household__status=HouseholdStatus.ACTIVE)
    if site_ids is not None:
        heads_qs = heads_qs.filter(household__site_id__in=site_ids)
        others_qs = others_qs.filter(household__site_id__in=site_ids)
    heads = {}
    for hid, site_id, given, family, born, estimated, phone, group_id in heads_qs.values_list(
            "household_id", "household__site_id", "given_name", "family_name", "date_of_birth", "age_estimated",
            "household__phone", "household__unhcr_group_id").iterator(chunk_size=5000):
        heads[hid] = Head(hid, site_id, normalise(given), normalise(family), born, estimated,
                          re.sub(r"\D", "", phone)[-9:], group_id)
    for hid, given in others_qs.values_list("household_id", "given_name").iterator(chunk_size=10000):
        if hid in heads:
            heads[hid].others.append(normalise(given))
    return list(heads.values())


def _key(name: str) -> str:
    return jellyfish.metaphone(name)[:5] if name else ""


def candidate_pairs(heads: list[Head]) -> set[tuple[int, int]]:
    """Pairs of positions in ``heads`` that share a block."""
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for i, h in enumerate(heads):
        given, family = _key(h.given), _key(h.family)
        blocks[("n", *sorted((given, family)))].append(i)
        blocks[("family-year", family, h.born.year)].append(i)
        blocks[("given-year", given, h.born.year)].append(i)
        if h.phone:
            blocks[("p", h.phone)].append(i)
        if h.group_id:
            blocks[("g", h.group_id)].append(i)
    pairs: set[tuple[int, int]] = set()
    for key, members in blocks.items():
        if len(members) < 2:
            continue
        if key[0] == "p" and len(members) > PHONE_BLOCK_MAX:
            continue
        if key[0] == "n":
            # Sorted by birth date, compare each head only with those born within the window.
            members.sort(key=lambda i: heads[i].born)
            for x, i in enumerate(members):
                limit = heads[i].born.toordinal() + 366 * YEAR_WINDOW
                for j in members[x + 1:]:
                    if heads[j].born.toordinal() > limit:
                        break
                    pairs.add((i, j) if i < j else (j, i))
        else:
            for i, j in combinations(members, 2):
                pairs.add((i, j) if i < j else (j, i))
    return pairs


def scan(*, threshold: float = THRESHOLD, site_ids: set[int] | None = None,
         progress: Callable[[int, int], None] | None = None) -> dict:
    """Score the candidate pairs and record those at or above ``threshold`` for review."""
    started = time.perf_counter()
    heads = load_heads(site_ids=site_ids)
    loaded = time.perf_counter()
    pairs = candidate_pairs(heads)
    decided = set(DuplicateCandidate.objects.values_list("household_a_id", "household_b_id"))
    found = []
    total = len(pairs)
    for count, (i, j) in enumerate(pairs, start=1):
        a, b = heads[i], heads[j]
        key = (a.household_id, b.household_id) if a.household_id < b.household_id else (b.household_id,
                                                                                          a.household_id)
        if key in decided:
            continue
        value, parts = score(a, b)
        if value >= threshold:
            found.append(DuplicateCandidate(household_a_id=key[0], household_b_id=key[1], score=value, reasons=parts))
        if progress and count % 20000 == 0:
            progress(count, total)
    DuplicateCandidate.objects.bulk_create(found, batch_size=1000, ignore_conflicts=True)
    return {
        "households": len(heads), "pairs_compared": total, "candidates_new": len(found),
        "seconds_loading": round(loaded - started, 2), "seconds": round(time.perf_counter() - started, 2),
    }


def pending_pairs(*, site_ids: set[int] | None, limit: int = 50) -> list[DuplicateCandidate]:
    """Pairs still to review where both households are active (and in the user's sites)."""
    qs = DuplicateCandidate.objects.filter(
        status="pending", household_a__status=HouseholdStatus.ACTIVE, household_b__status=HouseholdStatus.ACTIVE)
    if site_ids is not None:
        qs = qs.filter(household_a__site_id__in=site_ids, household_b__site_id__in=site_ids)
    return list(qs.select_related("household_a__site", "household_b__site", "household_a__block",
                                  "household_b__block").prefetch_related(
        "household_a__members", "household_b__members").order_by("-score", "pk")[:limit])
