"""The allocation planner on plain arrays: one plot per waiting household for a whole site.

Hard rules (never broken): the shelter's covered area gives 3.5 m² per person, one household
per plot, only allocatable plots (never reserved land, never unusable or taken ones), and a
household with a member with a disability only on an accessible plot.

Soft rules are points added to each (household, plot) pair, weighted by ``Weights``:
priority (most vulnerable and longest waiting), village (a block where households of the
same origin village live or are planned), safety (female-headed near lighting and latrines),
services (a member with a disability near latrines and water) and fit (a large shelter is
kept for a large family). Placing a household is worth far more than any preference, so the
planner places as many households as the hard rules allow and uses the points to choose.

A dense assignment over a whole camp (30,000 × 32,000) would not fit in memory, so the run
is split where the soft rules split it, and each part is solved exactly with scipy's
``linear_sum_assignment``:

1. Households, most urgent first, are given a home block: the block where their village
   already lives if it has room, else the roomiest block, so villages arrive together.
2. Each block is solved on its own: its households against its allocatable plots.
3. Households left over (no plot of theirs fitted in the home block, or no room anywhere
   near their village) are solved against every plot still free, in chunks of
   ``chunk`` households in priority order; identical plots are offered once per household
   of the chunk, which keeps each chunk small without losing the optimum of that chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from relief.shelter.rules import SPHERE_M2_PER_PERSON

# Placing one more household outweighs every soft preference together.
PLACED = 1000.0
INFEASIBLE = -1e9
COMPONENTS = ("priority", "village", "safety", "services", "fit")


@dataclass(frozen=True)
class Weights:
    priority: float = 1.0  # per priority point
    village: float = 3.0  # a block where households of the same village live
    safety: float = 4.0  # female-headed: half for lighting, half for latrines
    services: float = 3.0  # member with a disability: near latrines and water
    fit: float = 2.0  # penalty: share of the covered area beyond the household's need

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Households:
    size: np.ndarray  # int, people
    needs_access: np.ndarray  # bool: a member with a disability
    female_headed: np.ndarray  # bool
    village: np.ndarray  # int code of the origin village, -1 unknown
    priority: np.ndarray  # float points, higher first; ties keep the input order (waiting since)

    def __len__(self) -> int:
        return len(self.size)


@dataclass
class Plots:
    block: np.ndarray  # int code 0..blocks-1
    covered: np.ndarray  # float m² of the shelter
    accessible: np.ndarray  # bool
    near_lighting: np.ndarray  # bool
    near_latrine: np.ndarray  # bool
    allocatable: np.ndarray  # bool: residential, vacant and usable

    def __len__(self) -> int:
        return len(self.block)


@dataclass
class Proposal:
    plot: np.ndarray  # per household: index of its plot, -1 if none
    score: np.ndarray  # per household: its points (0 if none)
    components: dict[str, np.ndarray]  # per rule, per household: the points that rule gave
    home_block: np.ndarray  # per household: the block step 1 gave it, -1 if no room


def feasible(households: Households, plots: Plots, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The hard rules for every pair of ``rows`` × ``cols``, as a boolean matrix."""
    need = SPHERE_M2_PER_PERSON * households.size[rows].astype(np.float64)
    ok = plots.covered[cols][None, :] >= need[:, None] - 1e-9
    ok &= plots.accessible[cols][None, :] | ~households.needs_access[rows][:, None]
    ok &= plots.allocatable[cols][None, :]
    return ok


def _components(households: Households, plots: Plots, rows: np.ndarray, cols: np.ndarray, company: np.ndarray,
                counted_block: np.ndarray, weights: Weights) -> Iterator[tuple[str, np.ndarray]]:
    """Each soft rule's points for every pair of ``rows`` × ``cols``, one rule at a time (a chunk's
    matrices are large). ``counted_block``: where each household is already counted in ``company``."""
    need = SPHERE_M2_PER_PERSON * households.size[rows].astype(np.float64)
    covered = plots.covered[cols]
    village = households.village[rows]
    known = village >= 0
    # Other households of the village in the plot's block: the company count minus the household
    # itself where it is already counted there.
    others = company[np.where(known, village, 0)[:, None], plots.block[cols][None, :]]
    others = others - (counted_block[:, None] == plots.block[cols][None, :])
    near_both = 0.5 * plots.near_lighting[cols] + 0.5 * plots.near_latrine[cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        spare = np.where(covered[None, :] > 0, (covered[None, :] - need[:, None]) / covered[None, :], 0.0)
    yield "fit", -weights.fit * np.clip(spare, 0.0, 1.0, out=spare)
    del spare
    yield "priority", np.broadcast_to(weights.priority * households.priority[rows][:, None], (len(rows), len(cols)))
    yield "village", weights.village * ((others > 0) & known[:, None])
    del others
    yield "safety", weights.safety * households.female_headed[rows][:, None] * near_both[None, :]
    yield "services", weights.services * households.needs_access[rows][:, None] * plots.near_latrine[cols][None, :]


def _assign(households: Households, plots: Plots, rows: np.ndarray, cols: np.ndarray, company: np.ndarray,
            counted_block: np.ndarray, weights: Weights) -> tuple[np.ndarray, np.ndarray]:
    """Solve rows × cols exactly; return the (row, col) pairs that keep the hard rules."""
    if len(rows) == 0 or len(cols) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    ok = feasible(households, plots, rows, cols)
    score = np.full(ok.shape, PLACED)
    for _name, part in _components(households, plots, rows, cols, company, counted_block, weights):
        score += part
    score[~ok] = INFEASIBLE
    r, c = linear_sum_assignment(score, maximize=True)
    keep = ok[r, c]
    return rows[r[keep]], cols[c[keep]]


def _home_blocks(households: Households, plots: Plots, order: np.ndarray, company: np.ndarray) -> np.ndarray:
    """Step 1: a block for each household, most urgent first, keeping villages together."""
    n_blocks = company.shape[1]
    room = np.bincount(plots.block[plots.allocatable], minlength=n_blocks).astype(np.int64)
    home = np.full(len(households), -1, dtype=np.int64)
    current: dict[int, int] = {}
    for i in order:
        if not room.any():
            break
        v = int(households.village[i])
        b = current.get(v, -1) if v >= 0 else -1
        if b < 0 or room[b] == 0:
            # Where the village already is (most of it), then the roomiest block.
            preference = room.astype(np.float64)
            if v >= 0:
                preference += company[v] * (room.max() + 1)
            preference[room == 0] = -1
            b = int(np.argmax(preference))
            if v >= 0:
                current[v] = b
        home[i] = b
        room[b] -= 1
        if v >= 0:
            company[v, b] += 1
    return home


def _distinct_plots(plots: Plots, cols: np.ndarray, per_kind: int) -> np.ndarray:
    """At most ``per_kind`` plots of each kind (same block, covered area and features): plots of
    one kind are interchangeable, so a chunk of ``per_kind`` households needs no more of them."""
    if len(cols) <= per_kind:
        return cols
    kind = np.stack([plots.block[cols].astype(np.float64), plots.covered[cols], plots.accessible[cols],
                     plots.near_lighting[cols], plots.near_latrine[cols]], axis=1)
    _, inverse = np.unique(kind, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    by_kind = np.argsort(inverse, kind="stable")
    sorted_kind = inverse[by_kind]
    first = np.searchsorted(sorted_kind, sorted_kind, side="left")
    position = np.empty(len(cols), dtype=np.int64)
    position[by_kind] = np.arange(len(cols)) - first
    return cols[position < per_kind]


def plan(households: Households, plots: Plots, *, present: np.ndarray | None = None, weights: Weights | None = None,
         chunk: int = 500) -> Proposal:
    """Propose a plot for each household. ``present[v, b]``: households of village v living in block b."""
    weights = weights or Weights()
    n, m = len(households), len(plots)
    n_blocks = max(int(plots.block.max()) + 1 if m else 0, present.shape[1] if present is not None else 0)
    n_villages = max(int(households.village.max()) + 1 if n else 0, present.shape[0] if present is not None else 0)
    company = np.zeros((max(n_villages, 1), max(n_blocks, 1)), dtype=np.int64)
    if present is not None and present.size:
        company[: present.shape[0], : present.shape[1]] += present
    baseline = company.copy()

    # Most urgent first; equal points keep the input order (the list's "waiting since").
    order = np.lexsort((np.arange(n), -households.priority))
    assigned = np.full(n, -1, dtype=np.int64)
    home = _home_blocks(households, plots, order, company) if m else np.full(n, -1, dtype=np.int64)

    # Step 2: each block on its own; company counts every household at its home block.
    usable = np.flatnonzero(plots.allocatable)
    homed = order[home[order] >= 0]
    sorted_homed = homed[np.argsort(home[homed], kind="stable")]
    block_rows = np.split(sorted_homed, np.cumsum(np.bincount(home[sorted_homed], minlength=n_blocks))[:-1]) \
        if n_blocks else []
    usable_by_block = usable[np.argsort(plots.block[usable], kind="stable")]
    block_cols = np.split(usable_by_block, np.cumsum(np.bincount(plots.block[usable], minlength=n_blocks))[:-1]) \
        if n_blocks else []
    for rows, cols in zip(block_rows, block_cols, strict=True):
        r, c = _assign(households, plots, rows, cols, company, home[rows], weights)
        assigned[r] = c

    # Step 3: whoever is left, most urgent first, against every plot still free. Company now
    # counts only households actually placed.
    company = baseline
    placed = np.flatnonzero(assigned >= 0)
    known = households.village[placed] >= 0
    np.add.at(company, (households.village[placed][known], plots.block[assigned[placed][known]]), 1)
    free = np.ones(m, dtype=bool)
    free[assigned[placed]] = False
    free &= plots.allocatable
    left = order[assigned[order] < 0]
    nowhere = np.full(n, -1, dtype=np.int64)
    need = SPHERE_M2_PER_PERSON * households.size.astype(np.float64)
    while len(left):
        # Households that no free plot can take are dropped before any matrix is built.
        largest = plots.covered[free].max(initial=-1.0)
        largest_accessible = plots.covered[free & plots.accessible].max(initial=-1.0)
        left = left[need[left] <= np.where(households.needs_access[left], largest_accessible, largest) + 1e-9]
        rows, left = left[:chunk], left[chunk:]
        if not len(rows):
            break
        cols = np.flatnonzero(free & (plots.covered >= need[rows].min() - 1e-9))
        cols = _distinct_plots(plots, cols, len(rows))
        r, c = _assign(households, plots, rows, cols, company, nowhere[rows], weights)
        assigned[r] = c
        free[c] = False
        known = households.village[r] >= 0
        np.add.at(company, (households.village[r][known], plots.block[c][known]), 1)

    # The points of each chosen pair, against the final company (each household counted once).
    components = {name: np.zeros(n) for name in COMPONENTS}
    placed = np.flatnonzero(assigned >= 0)
    for start in range(0, len(placed), chunk):
        rows = placed[start:start + chunk]
        cols = assigned[rows]
        diagonal = np.arange(len(rows))
        for name, part in _components(households, plots, rows, cols, company, plots.block[cols], weights):
            components[name][rows] = part[diagonal, diagonal]
    score = sum(components.values(), np.zeros(n))
    return Proposal(plot=assigned, score=score, components=components, home_block=home)
