"""The differencing rule of team reports (bot.domain.privacy), pure, checked by brute force.

The brute-force checks here share no code with the module: they build the released rows as 0/1
matrices over people and tools and look for a combination that isolates fewer than k people, both
by trying every sum and difference of the released reports (coefficients -1, 0, 1) and, exactly,
by asking whether removing the columns of some fewer-than-k people lowers the rank (integer
Bareiss elimination, no fractions).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import combinations, product

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.privacy import (
    MIN_K,
    Candidate,
    HoldReason,
    Row,
    decide_week,
    effective_k,
    isolates_few,
    tool_row,
    total_row,
)

K = MIN_K


# Independent brute force --------------------------------------------------------------------


def integer_rank(matrix: Sequence[Sequence[int]]) -> int:
    """Rank over the rationals by fraction-free (Bareiss) elimination on integers."""
    rows = [list(row) for row in matrix if any(row)]
    if not rows:
        return 0
    width = len(rows[0])
    rank = 0
    previous = 1
    for column in range(width):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(rank + 1, len(rows)):
            rows[r] = [
                (rows[rank][column] * rows[r][j] - rows[r][column] * rows[rank][j]) // previous
                for j in range(width)
            ]
        previous = rows[rank][column]
        rank += 1
    return rank


def smallest_isolated_group(rows: Sequence[Row], k: int) -> frozenset[int] | None:
    """A set of 1 … k-1 people that some rational combination of ``rows`` isolates, else None."""
    rows = [row for row in rows if row]
    if not rows:
        return None
    coords = sorted(frozenset().union(*rows))
    people = sorted({person for person, _ in coords})
    matrix = [[1 if coord in row else 0 for coord in coords] for row in rows]
    full = integer_rank(matrix)
    for size in range(1, k):
        for group in combinations(people, size):
            keep = [j for j, (person, _) in enumerate(coords) if person not in group]
            if integer_rank([[row[j] for j in keep] for row in matrix]) < full:
                return frozenset(group)
    return None


def sum_or_difference_isolating(rows: Sequence[Row], k: int) -> tuple[int, ...] | None:
    """Coefficients in {-1, 0, 1} of a combination of ``rows`` left with 1 … k-1 people."""
    rows = list(rows)
    coords = sorted(frozenset().union(*rows)) if rows else []
    for coefficients in product((-1, 0, 1), repeat=len(rows)):
        if not any(coefficients):
            continue
        people = {
            person
            for person, part in coords
            if sum(c for c, row in zip(coefficients, rows, strict=True) if (person, part) in row)
        }
        if 0 < len(people) < k:
            return coefficients
    return None


# Building candidates --------------------------------------------------------------------------


def candidates_for(
    teams: dict[str, frozenset[int]],
    active: frozenset[int],
    tools: dict[int, set[str]] | None = None,
) -> list[Candidate]:
    tools = tools or {}
    users: dict[str, set[int]] = {}
    for person in active:
        for tool in tools.get(person, ()):
            users.setdefault(tool, set()).add(person)
    result = []
    for name, members in {"org": active, **teams}.items():
        people = members & active
        rows = {tool: tool_row(who & people, tool) for tool, who in users.items() if who & people}
        result.append(Candidate(name, people, total_row(people, tools), rows))
    return result


def people(first: int, last: int) -> frozenset[int]:
    return frozenset(range(first, last + 1))


def shown(result_cells: dict[str, object]) -> set[str]:
    return {cell for cell, decision in result_cells.items() if decision.shown}  # type: ignore[attr-defined]


# Known cases ----------------------------------------------------------------------------------


def test_k_never_goes_below_five() -> None:
    assert effective_k(None) == 5
    assert effective_k(0) == 5
    assert effective_k(2) == 5
    assert effective_k(-3) == 5
    assert effective_k(7) == 7
    assert effective_k("8") == 8
    assert effective_k("three") == 5
    assert effective_k(True) == 5
    assert effective_k(6.0) == 6
    assert isolates_few([frozenset((p, "") for p in range(4))], 1)  # k=1 is read as 5


def test_three_overlapping_teams_are_not_all_shown() -> None:
    """A = X + t, B = Y, G = X ∪ Y: A + B − G is t alone."""
    x, y, t = people(1, 5), people(6, 10), frozenset({11})
    others = people(20, 39)
    teams = {"A": x | t, "B": y, "G": x | y}
    result = decide_week([], candidates_for(teams, x | y | t | others), K)
    assert shown(result.cells) != {"org", "A", "B", "G"}
    assert {"A", "B", "G"} - shown(result.cells)
    held = [cell for cell, d in result.cells.items() if not d.shown]
    assert all(result.cells[cell].reason is HoldReason.OVERLAP for cell in held)
    released = [row for _, row in result.released]
    assert smallest_isolated_group(released, K) is None
    assert sum_or_difference_isolating(released, K) is None
    # What was hidden really was dangerous: with every row the brute force finds t.
    every = [c.total for c in candidates_for(teams, x | y | t | others)]
    assert smallest_isolated_group(every, K) == t


def test_disjoint_teams_of_five_or_more_are_all_shown() -> None:
    teams = {"A": people(1, 5), "B": people(6, 12), "C": people(13, 17)}
    result = decide_week([], candidates_for(teams, people(1, 17)), K)
    assert shown(result.cells) == {"org", "A", "B", "C"}
    everyone_else = candidates_for(teams, people(1, 17) | people(30, 34))  # 5 in no team
    assert shown(decide_week([], everyone_else, K).cells) == {"org", "A", "B", "C"}


def test_a_one_team_pilot_close_to_the_organisation_is_held_for_overlap() -> None:
    """Six active in the pilot, three more in the organisation: org − pilot is three people."""
    result = decide_week([], candidates_for({"Pilot": people(1, 6)}, people(1, 9)), K)
    assert result.cells["org"].shown
    assert result.cells["Pilot"] == type(result.cells["Pilot"])(False, HoldReason.OVERLAP)


def test_too_few_active_says_so() -> None:
    result = decide_week([], candidates_for({"Tiny": people(1, 4)}, people(1, 20)), K)
    assert result.cells["Tiny"].reason is HoldReason.TOO_FEW


def test_a_tool_used_by_one_person_hides_the_breakdown_not_the_total() -> None:
    tools = {p: {"chatgpt"} for p in range(1, 8)} | {7: {"chatgpt", "cursor"}}
    result = decide_week([], candidates_for({}, people(1, 7), tools), K)
    assert result.cells["org"].shown and not result.cells["org"].breakdown
    tools[7] = {"chatgpt"}
    result = decide_week([], candidates_for({}, people(1, 7), tools), K)
    assert result.cells["org"].breakdown


def test_a_changed_set_is_checked_against_what_was_released() -> None:
    """Late data makes one more person active in a week already reported: the new total would
    be the old one plus that person, so it is held back, while the old release stays."""
    first = decide_week([], candidates_for({"A": people(1, 6)}, people(1, 12)), K)
    assert shown(first.cells) == {"org", "A"}
    later = decide_week(first.released, candidates_for({"A": people(1, 7)}, people(1, 12)), K)
    assert later.cells["A"] == type(later.cells["A"])(False, HoldReason.OVERLAP)
    assert later.released == []


def test_the_same_rows_are_shown_again_without_growing_the_ledger() -> None:
    candidates = candidates_for({"A": people(1, 6), "B": people(7, 13)}, people(1, 13))
    first = decide_week([], candidates, K)
    again = decide_week(first.released, candidates, K)
    assert again.cells == first.cells and again.released == []


def test_a_weighted_combination_is_caught_not_only_sums_and_differences() -> None:
    """Rows a = P+Q, b = P+R, c = Q+R+t, d = P+Q+R with |P|, |Q|, |R| = 5: no sum or difference
    of them leaves fewer than five people, but a + b + c − 2d is t alone."""
    p, q, r, t = people(1, 5), people(6, 10), people(11, 15), frozenset({16})
    rows = [total_row(s, {}) for s in (p | q, p | r, q | r | t, p | q | r)]
    assert sum_or_difference_isolating(rows, K) is None
    assert isolates_few(rows, K)
    assert smallest_isolated_group(rows, K) == t


# Properties -----------------------------------------------------------------------------------


@st.composite
def organisations(draw: st.DrawFn) -> tuple[dict[str, frozenset[int]], frozenset[int], dict]:  # type: ignore[type-arg]
    size = draw(st.integers(min_value=5, max_value=13))
    everyone = list(range(1, size + 1))
    active = frozenset(draw(st.lists(st.sampled_from(everyone), unique=True, min_size=3)))
    count = draw(st.integers(min_value=1, max_value=5))
    teams = {
        f"T{i}": frozenset(draw(st.lists(st.sampled_from(everyone), unique=True, min_size=1)))
        for i in range(count)
    }
    tools = {
        person: set(draw(st.lists(st.sampled_from(["a", "b"]), unique=True, max_size=2)))
        for person in everyone
    }
    return teams, active, tools


@settings(max_examples=150, deadline=None)
@given(organisations())
def test_no_combination_of_released_reports_isolates_fewer_than_k(org: tuple) -> None:  # type: ignore[type-arg]
    teams, active, tools = org
    result = decide_week([], candidates_for(teams, active, tools), K)
    released = [row for _, row in result.released]
    assert smallest_isolated_group(released, K) is None
    if len(released) <= 8:
        assert sum_or_difference_isolating(released, K) is None
    for cell, decision in result.cells.items():
        rows = [row for name, row in result.released if name == cell]
        assert decision.shown == bool(rows)


@settings(max_examples=100, deadline=None)
@given(organisations(), st.randoms(use_true_random=False))
def test_the_decision_does_not_depend_on_the_order_of_asking(
    org: tuple, rnd: random.Random
) -> None:  # type: ignore[type-arg]
    teams, active, tools = org
    candidates = candidates_for(teams, active, tools)
    first = decide_week([], candidates, K)
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert decide_week([], shuffled, K).cells == first.cells


@settings(max_examples=100, deadline=None)
@given(organisations(), st.data())
def test_the_ledger_stays_safe_as_activity_changes_later(org: tuple, data: st.DataObject) -> None:  # type: ignore[type-arg]
    """Decide, then late data makes more people active; the ledger (old and new rows) is safe."""
    teams, active, tools = org
    everyone = sorted(set().union(active, *teams.values()))
    later = active | frozenset(data.draw(st.lists(st.sampled_from(everyone), unique=True)))
    first = decide_week([], candidates_for(teams, active, tools), K)
    second = decide_week(first.released, candidates_for(teams, later, tools), K)
    ledger = [row for _, row in [*first.released, *second.released]]
    assert smallest_isolated_group(ledger, K) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=5, max_value=9), min_size=1, max_size=4))
def test_disjoint_teams_that_cover_everyone_are_all_shown(sizes: list[int]) -> None:
    teams, start = {}, 1
    for i, size in enumerate(sizes):
        teams[f"T{i}"] = people(start, start + size - 1)
        start += size
    everyone = people(1, start - 1)
    assert shown(decide_week([], candidates_for(teams, everyone), K).cells) == {"org", *teams}
