"""The suppression rules of team reports (bot.domain.privacy), as pure functions."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.privacy import MIN_K, CellKey, differ_by_few, effective_k, visible_cells
from bot.domain.weeks import Week

W46, W47, W48 = Week(2026, 46), Week(2026, 47), Week(2026, 48)


def people(*ids: int) -> frozenset[int]:
    return frozenset(ids)


def span(first: int, last: int) -> frozenset[int]:
    return frozenset(range(first, last + 1))


def test_k_threshold() -> None:
    cells = {("five", W47): span(1, 5), ("four", W47): span(11, 14)}
    assert visible_cells(cells, 5) == {("five", W47)}
    assert visible_cells(cells, 6) == set()


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
    cells = {("three", W47): span(1, 3), ("four", W47): span(11, 14)}
    assert visible_cells(cells, 1) == set()  # a caller passing less still gets 5
    assert MIN_K == 5


def test_parent_minus_a_visible_child_is_suppressed() -> None:
    parent, child = span(1, 9), span(1, 8)
    shown = visible_cells({("parent", W47): parent, ("child", W47): child}, 5)
    assert shown == {("parent", W47)}  # the smaller group yields
    far_child = span(1, 4) | span(20, 23)  # a child differing by 5 from its parent is fine
    shown = visible_cells({("parent", W47): span(1, 4) | span(20, 28), ("c", W47): far_child}, 5)
    assert shown == {("parent", W47), ("c", W47)}


def test_identical_groups_do_not_conflict() -> None:
    cells = {("a", W47): span(1, 6), ("b", W47): span(1, 6)}
    assert visible_cells(cells, 5) == set(cells)


def test_overlapping_teams_differing_by_one_member() -> None:
    first = span(1, 6)
    second = span(2, 7)  # one left, one came: symmetric difference of 2
    assert visible_cells({("x", W47): first, ("y", W47): second}, 5) == {("x", W47)}
    assert visible_cells({("y", W47): second, ("x", W47): first}, 5) == {("x", W47)}


def test_consecutive_weeks_with_a_leaver_or_a_joiner() -> None:
    # One member left: the later week is suppressed, the earlier one stays as it was shown.
    assert visible_cells({("t", W46): span(1, 7), ("t", W47): span(1, 6)}, 5) == {("t", W46)}
    # One member joined: the same, an earlier week never changes because a later one arrived.
    assert visible_cells({("t", W46): span(1, 6), ("t", W47): span(1, 7)}, 5) == {("t", W46)}
    # Weeks further apart than the span are not compared.
    cells = {("t", W46): span(1, 6), ("t", W48): span(1, 7)}
    assert visible_cells(cells, 5, week_span=1) == set(cells)
    assert visible_cells(cells, 5) == {("t", W46)}


def test_adding_a_later_week_never_changes_an_earlier_decision() -> None:
    base = {("t", W46): span(1, 6), ("u", W46): span(1, 9), ("v", W46): span(30, 40)}
    before = visible_cells(base, 5)
    after = visible_cells({**base, ("t", W47): span(1, 5), ("u", W47): span(1, 12)}, 5)
    assert {key for key in after if key[1] == W46} == before


def test_parent_minus_all_visible_children_singles_no_one_out() -> None:
    left, right = span(1, 6), span(11, 16)
    parent = left | right | people(99)  # one person only in the parent itself
    shown = visible_cells({("p", W47): parent, ("l", W47): left, ("r", W47): right}, 5)
    assert ("p", W47) in shown
    assert len(shown) == 2  # p − l − r would be that one person: one child is suppressed
    covered = visible_cells({("p", W47): left | right, ("l", W47): left, ("r", W47): right}, 5)
    assert len(covered) == 3  # nothing left over


def test_overlapping_children_subtracted_twice_count_too() -> None:
    left, right = span(1, 6), span(6, 11)  # person 6 in both
    shown = visible_cells({("p", W47): left | right, ("l", W47): left, ("r", W47): right}, 5)
    assert len(shown) == 2


def test_differ_by_few() -> None:
    assert differ_by_few(span(1, 6), span(1, 5), 5)
    assert not differ_by_few(span(1, 6), span(1, 6), 5)
    assert not differ_by_few(span(1, 10), span(1, 5), 5)


# Properties ------------------------------------------------------------------------------------

WEEKS = [Week(2026, n) for n in range(44, 49)]
cell_sets = st.dictionaries(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "org"]), st.sampled_from(WEEKS)),
    st.frozensets(st.integers(min_value=1, max_value=14), max_size=14),
    max_size=14,
)


@settings(max_examples=200, deadline=None)
@given(cell_sets, st.integers(min_value=0, max_value=8), st.randoms(use_true_random=False))
def test_order_does_not_matter(
    cells: dict[CellKey, frozenset[int]], k: int, rng: random.Random
) -> None:
    items = list(cells.items())
    rng.shuffle(items)
    assert visible_cells(dict(items), k) == visible_cells(cells, k)


@settings(max_examples=200, deadline=None)
@given(cell_sets, st.integers(min_value=0, max_value=8))
def test_what_is_shown_is_safe(cells: dict[CellKey, frozenset[int]], k: int) -> None:
    shown = visible_cells(cells, k)
    k = effective_k(k)
    assert shown <= set(cells)
    for key in shown:
        assert len(cells[key]) >= k
        for other in shown:
            assert not differ_by_few(cells[key], cells[other], k)


@settings(max_examples=100, deadline=None)
@given(cell_sets)
def test_the_answer_is_only_which_cells(cells: dict[CellKey, frozenset[int]]) -> None:
    shown = visible_cells(cells, 5)
    assert isinstance(shown, set)
    assert all(isinstance(key, tuple) and key in cells for key in shown)
    # Nothing about hidden cells comes out: renaming or resizing a hidden small cell changes nothing.
    small = {key: members for key, members in cells.items() if len(members) < 5}
    bigger = {**cells, **{key: frozenset(list(m)[:1]) for key, m in small.items()}}
    assert visible_cells(bigger, 5) == shown
