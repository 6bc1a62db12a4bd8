"""Which team-week figures may be shown: k-anonymity that survives any combination of reports.

A released figure is a sum over a set of *coordinates*. A coordinate is ``(person id, part)``:
part ``""`` stands for everything a person did that week (a team total counts it), a tool name
for that person's use of that tool (a per-tool breakdown counts it). A team total therefore sums
``(p, "")`` and ``(p, tool)`` for every active member ``p``; its breakdown row for one tool sums
``(p, tool)`` for the members who used that tool. Every metric (tokens, dollars, requests,
artifacts, and the AI-assisted artifacts of each kind) is the same linear function of the same
rows, so one check covers them all: a figure summed over a team's members is part of its total.

**The rule (DESIGN §5.2).** For one week, take every row released so far (the *ledger*, global
across requesters: a lead's reports are a subset of what an admin may obtain, so a ledger that is
safe as a whole is safe for everyone). A new row may be released only if, afterwards, no non-zero
linear combination of the released rows — sums, differences, any rational weights — has its
non-zero coordinates owned by 1 … k-1 people. ``isolates_few`` decides this exactly, over the
rationals (``fractions.Fraction``):

* The rows split into families that can be checked apart (``_families``): the totals over
  ``(p, "")`` and the lines of each tool. Rows taken from different states of the week (data
  that arrived between two decisions) do not split cleanly; they count as isolating.
* Coordinates with the same pattern of rows are merged into *atoms*. An atom owned by at least
  ``k`` people can never be part of a small combination, so only combinations that vanish on all
  such *heavy* atoms matter: their coefficients form the left null space of the heavy columns.
* Projected onto the light atoms, those combinations span a (usually empty) space; a small
  combination exists exactly when some set ``S`` of light atoms owned by fewer than ``k`` people
  carries a non-zero vector of it; only the echelon rows whose pivot lies in ``S`` can make
  one. Those sets are enumerated; past ``SEARCH_LIMIT`` of them the answer is "isolates" (hold
  back), so an organisation of many small overlapping teams sees more reports held back.

A row owned by fewer than ``k`` people is itself such a combination, so the threshold rule
(at least ``k`` active members) is the one-row case of the same test.

``decide_week`` applies the rule to every candidate row of a week in a fixed order (larger
groups first, then by name) and returns which are shown, which were released already, and why the
others are held back — ``TOO_FEW`` when the group had fewer than ``k`` active members, ``OVERLAP``
when it would combine with other reports. Never a count, never a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

MIN_K = 5
SEARCH_LIMIT = 1_000

Coord = tuple[int, str]
"""``(person id, part)``: part ``""`` is the person's whole week, else one tool."""

Row = frozenset[Coord]


class HoldReason(StrEnum):
    TOO_FEW = "too_few_active"
    OVERLAP = "overlaps_other_reports"


def effective_k(admin_value: Any = None) -> int:
    """The minimum group size in force: the admin's value if it is a whole number above 5, else 5."""
    if isinstance(admin_value, bool):
        return MIN_K
    if isinstance(admin_value, str):
        admin_value = admin_value.strip()
        if not admin_value.isdigit():
            return MIN_K
        admin_value = int(admin_value)
    if isinstance(admin_value, float) and admin_value.is_integer():
        admin_value = int(admin_value)
    if not isinstance(admin_value, int):
        return MIN_K
    return max(MIN_K, admin_value or MIN_K)


def total_row(people: Iterable[int], tools_by_person: Mapping[int, Iterable[str]]) -> Row:
    """A team total over ``people``: their whole week and each tool they used."""
    coords: set[Coord] = set()
    for person in people:
        coords.add((person, ""))
        coords.update((person, tool) for tool in tools_by_person.get(person, ()))
    return frozenset(coords)


def tool_row(users: Iterable[int], tool: str) -> Row:
    """One tool's line of a breakdown: that tool's use by ``users``."""
    return frozenset((person, tool) for person in users)


def owners(coords: Iterable[Coord]) -> frozenset[int]:
    return frozenset(person for person, _ in coords)


# The exact test --------------------------------------------------------------------------------


def isolates_few(rows: Sequence[Row], k: int) -> bool:
    """True when some non-zero rational combination of ``rows`` involves 1 … k-1 people."""
    k = max(MIN_K, k)
    rows = [row for row in rows if row]
    families = _families(rows)
    if families is None:
        return True  # rows from different states of the week: hold back rather than guess
    return any(_isolates_few(family, k) for family in families)


def _families(rows: Sequence[Row]) -> list[list[Row]] | None:
    """The rows split into the totals (``(p, "")``) and one family per tool, each over people.

    Exact when every row that covers a person's whole week also covers each of that person's
    tool coordinates found in any row: then a combination's part on ``(p, "")`` is the totals'
    combination, and once that is zero what is left on ``(p, tool)`` is the tool lines' own
    combination, so the rows isolate someone exactly when one family does. Rows built from one
    state of the week always satisfy this; ``None`` when they do not (data arrived in between).
    """
    tools_of: dict[int, set[str]] = {}
    for row in rows:
        for person, part in row:
            if part:
                tools_of.setdefault(person, set()).add(part)
    by_part: dict[str, list[Row]] = {}
    for row in rows:
        wholes = {person for person, part in row if not part}
        if wholes:
            if any(
                (person, tool) not in row for person in wholes for tool in tools_of.get(person, ())
            ):
                return None
            if any(part and person not in wholes for person, part in row):
                return None
            by_part.setdefault("", []).append(frozenset((person, "") for person in wholes))
        else:
            parts = {part for _, part in row}
            if len(parts) != 1:
                return None
            (part,) = parts
            by_part.setdefault(part, []).append(frozenset((person, "") for person, _ in row))
    return list(by_part.values())


def _isolates_few(rows: Sequence[Row], k: int) -> bool:
    """The exact test on rows over ``(person, "")`` coordinates."""
    rows = [row for row in rows if row]
    if not rows:
        return False
    patterns: dict[tuple[int, ...], set[Coord]] = {}
    for coord in sorted(frozenset().union(*rows)):
        pattern = tuple(1 if coord in row else 0 for row in rows)
        patterns.setdefault(pattern, set()).add(coord)
    heavy: list[tuple[int, ...]] = []
    light: list[tuple[tuple[int, ...], frozenset[int]]] = []
    for pattern, coords in patterns.items():
        people = owners(coords)
        if len(people) >= k:
            heavy.append(pattern)
        else:
            light.append((pattern, people))
    if not light:
        return False
    # Combinations c (one weight per row) with c · column = 0 on every heavy atom.
    weights = _null_space(
        [[Fraction(col[i]) for i in range(len(rows))] for col in heavy], len(rows)
    )
    if not weights:
        return False
    # Those combinations, seen on the light atoms only.
    projected = [
        [sum((c[i] for i in range(len(rows)) if pattern[i]), Fraction(0)) for pattern, _ in light]
        for c in weights
    ]
    live = [j for j in range(len(light)) if any(row[j] for row in projected)]
    if not live:
        return False
    matrix = [[row[j] for j in live] for row in projected]
    # A vector of this space is fixed by its values on the pivot columns of the echelon form,
    # so one supported inside S combines only the rows whose pivot lies in S: at most k-1 rows.
    reduced, pivots = _echelon(matrix)
    row_of_pivot = {column: i for i, column in enumerate(pivots)}
    nonzero = [{j for j, value in enumerate(row) if value} for row in reduced]
    light_owners = [light[j][1] for j in live]
    budget = [SEARCH_LIMIT]

    def supported_inside(picked: set[int]) -> bool:
        rows_in = [row_of_pivot[j] for j in picked if j in row_of_pivot]
        if not rows_in:
            return False
        outside = sorted(set().union(*(nonzero[i] for i in rows_in)) - picked)
        return _rank([[reduced[i][j] for i in rows_in] for j in outside]) < len(rows_in)

    def search(start: int, chosen: set[int], people: frozenset[int]) -> bool:
        for j in range(start, len(live)):
            union = people | light_owners[j]
            if len(union) >= k:
                continue
            budget[0] -= 1
            if budget[0] < 0:
                return True  # too many to examine: hold back rather than guess
            picked = chosen | {j}
            if supported_inside(picked) or search(j + 1, picked, union):
                return True
        return False

    return search(0, set(), frozenset())


def _rank(matrix: list[list[Fraction]]) -> int:
    return len(_echelon(matrix)[1])


def _echelon(matrix: list[list[Fraction]]) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form (exact) and its pivot columns."""
    rows = [list(row) for row in matrix]
    width = len(rows[0]) if rows else 0
    pivots: list[int] = []
    top = 0
    for column in range(width):
        pivot = next((r for r in range(top, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[top], rows[pivot] = rows[pivot], rows[top]
        lead = rows[top][column]
        rows[top] = [value / lead for value in rows[top]]
        for r in range(len(rows)):
            if r != top and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[top], strict=True)]
        pivots.append(column)
        top += 1
        if top == len(rows):
            break
    return rows[:top], pivots


def _null_space(equations: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    """A basis of ``{x : equation · x = 0 for every equation}`` in ``width`` unknowns."""
    if not equations:
        return [[Fraction(int(i == j)) for j in range(width)] for i in range(width)]
    reduced, pivots = _echelon(equations)
    free = [j for j in range(width) if j not in pivots]
    basis = []
    for f in free:
        vector = [Fraction(0)] * width
        vector[f] = Fraction(1)
        for row, pivot in zip(reduced, pivots, strict=True):
            vector[pivot] = -row[f]
        basis.append(vector)
    return basis


# Deciding one week -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A report that could be shown for one week: its ledger name, its total row, and the rows
    of its per-tool breakdown (shown only together, and only with the total)."""

    cell: str
    active: frozenset[int]
    total: Row
    tools: Mapping[str, Row]


@dataclass(frozen=True)
class CellDecision:
    shown: bool
    reason: HoldReason | None = None
    breakdown: bool = False


@dataclass(frozen=True)
class WeekDecision:
    cells: dict[str, CellDecision]
    released: list[tuple[str, Row]]  # rows to add to the ledger, in order


def decide_week(
    ledger: Sequence[tuple[str, Row]], candidates: Iterable[Candidate], k: int
) -> WeekDecision:
    """Every candidate of one week against the ledger of what that week already released.

    Order is fixed (more active people first, then cell name), so the outcome depends only on
    the ledger and the candidates, never on who asked or in which order. A row already in the
    ledger (the same cell, the same coordinates) is shown again as it was."""
    k = max(MIN_K, k)
    released_rows = [row for _, row in ledger]
    known = {(cell, row) for cell, row in ledger}
    new: list[tuple[str, Row]] = []
    cells: dict[str, CellDecision] = {}
    for candidate in sorted(candidates, key=lambda c: (-len(c.active), c.cell)):
        if len(candidate.active) < k:
            cells[candidate.cell] = CellDecision(False, HoldReason.TOO_FEW)
            continue
        if (candidate.cell, candidate.total) not in known:
            if isolates_few([*released_rows, candidate.total], k):
                cells[candidate.cell] = CellDecision(False, HoldReason.OVERLAP)
                continue
            released_rows.append(candidate.total)
            known.add((candidate.cell, candidate.total))
            new.append((candidate.cell, candidate.total))
        tool_rows = [
            (f"{candidate.cell}/{tool}", row) for tool, row in sorted(candidate.tools.items())
        ]
        missing = [item for item in tool_rows if item not in known]
        breakdown = True
        if missing:
            if isolates_few([*released_rows, *(row for _, row in missing)], k):
                breakdown = False
            else:
                released_rows.extend(row for _, row in missing)
                known.update(missing)
                new.extend(missing)
        cells[candidate.cell] = CellDecision(True, None, breakdown and bool(tool_rows))
    return WeekDecision(cells, new)
