"""Which team-week figures may be shown: k-anonymity plus protection against differencing.

A *cell* is one group of people (a team, a parent team with its sub-teams, the organisation, or
one tool's users inside such a group) in one ISO week. Its figures are sums over the people in
its *active set*: the members who had any ``ai.usage`` or ``artifact.*`` event that week. This
module sees only those sets of ids, never a number of tokens or dollars, and decides which cells
may be shown (DESIGN §5.2):

(a) **Threshold.** A cell is shown only if at least ``k`` members were active. ``k`` is 5 unless an
    admin raised it; it never goes below 5 (``effective_k``), even if a caller passes less.

(b) **Pairs.** Two shown cells must not differ by 1 … k-1 people: the symmetric difference of
    their active sets is either empty (the same people) or at least ``k``. This covers a parent
    team minus a shown sub-team (subset), overlapping teams that share most members, and the same
    team in nearby weeks where someone joined or left. Cells of different weeks are compared when
    they are at most ``week_span`` weeks apart (all of them when ``week_span`` is ``None``).

(c) **Families.** Within one week, a shown cell minus all of the shown cells strictly inside it
    must not single out 1 … k-1 people either: counting how often each member is covered by
    those sub-cells, the members covered zero times or more than once (the ones left over, or
    subtracted twice, by ``parent - child₁ - child₂ - …``) are none or at least ``k``.

(d) **Deterministic, order-independent resolution.** Cells are decided one at a time in a fixed
    order — earlier weeks first, then larger groups, then by group name — and a cell is shown only
    if it passes (a)–(c) against the cells already shown. So earlier weeks keep what they showed
    when later weeks arrive (a new week that would make an old one subtractable is the one
    suppressed), a sub-team yields to its parent, and the answer depends only on the sets, never
    on the order of the input mapping.

(e) **Silence.** The result is only the set of shown keys. Nothing here counts, names or explains
    the hidden cells; callers say "not enough active members to show this safely" and no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain.weeks import Week

MIN_K = 5

CellKey = tuple[str, Week]
"""``(group, week)``: the group's stable name (a team key, ``org``, or ``team/tool``) and week."""


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


def visible_cells(
    cells: Mapping[CellKey, frozenset[int]], k: int, *, week_span: int | None = None
) -> set[CellKey]:
    """The keys of the cells that may be shown, under rules (a)–(e) of this module."""
    k = max(MIN_K, k)
    candidates = sorted(
        (key for key, members in cells.items() if len(members) >= k),
        key=lambda key: (key[1], -len(cells[key]), key[0]),
    )
    shown: list[CellKey] = []
    for key in candidates:
        if _may_show(key, shown, cells, k, week_span):
            shown.append(key)
    return set(shown)


def _may_show(
    key: CellKey,
    shown: list[CellKey],
    cells: Mapping[CellKey, frozenset[int]],
    k: int,
    week_span: int | None,
) -> bool:
    members = cells[key]
    for other in shown:
        if week_span is not None and _weeks_apart(key[1], other[1]) > week_span:
            continue
        if differ_by_few(members, cells[other], k):
            return False
    same_week = [cells[other] for other in shown if other[1] == key[1]]
    return not _family_singles_out([*same_week, members], k)


def differ_by_few(first: frozenset[int], second: frozenset[int], k: int) -> bool:
    """True when the two sets differ by at least one and fewer than ``k`` people."""
    if abs(len(first) - len(second)) >= k:
        return False
    return 0 < len(first ^ second) < k


def _family_singles_out(groups: list[frozenset[int]], k: int) -> bool:
    """Rule (c): some group minus all the groups strictly inside it leaves 1 … k-1 people."""
    for outer in groups:
        inner = [group for group in groups if group < outer]
        if len(inner) >= 2 and 0 < len(_not_covered_once(outer, inner)) < k:
            return True
    return False


def _not_covered_once(outer: frozenset[int], inner: Iterable[frozenset[int]]) -> set[int]:
    coverage = dict.fromkeys(outer, 0)
    for group in inner:
        for person in group:
            coverage[person] += 1
    return {person for person, times in coverage.items() if times != 1}


def _weeks_apart(first: Week, second: Week) -> int:
    return abs((first.monday - second.monday).days) // 7
