"""The transition tables' rows, and their identity over random histories under every precedence."""

import itertools
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.transitions.movements import (
    AfterOtherClass,
    Alike,
    FirstSeen,
    MovedAndChanged,
    Precedence,
    Returned,
    Seen,
    alike_movements,
    movements,
)
from indicators.transitions.service import TABLES, table

CLASSES = ("poor", "near_poor", "average", "not_poor")
DISTRICT = {"00001": "001", "00002": "001", "00003": "002", "00004": "002"}

EVERY_PRECEDENCE = [
    Precedence(after_other_class=a, first_seen=f, returned=r, moved_and_changed=m)
    for a, f, r, m in itertools.product(AfterOtherClass, FirstSeen, Returned, MovedAndChanged)
]

seen = st.builds(
    Seen,
    commune=st.sampled_from(sorted(DISTRICT)),
    household_class=st.sampled_from(CLASSES),
    persons=st.integers(min_value=1, max_value=9),
)
history = st.tuples(
    st.none() | seen,
    st.none() | seen,
    st.none() | st.frozensets(st.sampled_from(("poor", "near_poor"))),
).filter(lambda h: h[0] is not None or h[1] is not None)


def _rows(
    start: Seen | None, end: Seen | None, earlier: frozenset[str] | None = None, **kw: str
) -> set[str]:
    precedence = Precedence.model_validate(kw)
    return {
        f"{m.table}.{m.row}"
        for m in movements(
            start,
            end,
            earlier=earlier or frozenset(),
            seen_earlier=earlier is not None,
            precedence=precedence,
        )
        if m.households
    }


@settings(max_examples=300, deadline=None)
@given(households=st.lists(history, max_size=25), precedence=st.sampled_from(EVERY_PRECEDENCE))
def test_end_is_start_minus_decreases_plus_increases_in_every_unit(
    households: list[tuple[Seen | None, Seen | None, frozenset[str] | None]],
    precedence: Precedence,
) -> None:
    cells: Counter[tuple[str, str, str, str]] = Counter()  # unit, table, counted, row
    truth: Counter[tuple[str, str, str, str]] = Counter()  # unit, table, counted, start|end
    for start, end, earlier in households:
        for m in movements(
            start,
            end,
            earlier=earlier or frozenset(),
            seen_earlier=earlier is not None,
            precedence=precedence,
        ):
            for unit in (m.commune, DISTRICT[m.commune], "province"):
                cells[(unit, m.table, "households", m.row)] += m.households
                cells[(unit, m.table, "persons", m.row)] += m.persons
        for side, found in (("start", start), ("end", end)):
            if found is not None and found.household_class in TABLES:
                for unit in (found.commune, DISTRICT[found.commune], "province"):
                    truth[(unit, found.household_class, "households", side)] += 1
                    truth[(unit, found.household_class, "persons", side)] += found.persons
    units = [*DISTRICT, *sorted(set(DISTRICT.values())), "province"]
    for unit, name, counted in itertools.product(units, TABLES, ("households", "persons")):
        mine = {(t, c, r): v for (u, t, c, r), v in cells.items() if u == unit}
        found = table(mine, name, counted)
        assert found.start == truth[(unit, name, counted, "start")]
        assert found.end == truth[(unit, name, counted, "end")]
        assert found.end == (
            found.start - sum(found.decreases.values()) + sum(found.increases.values())
        )
    # A unit's rows are its children's summed, row by row.
    for parent, children in (("001", ("00001", "00002")), ("province", ("001", "002"))):
        for key in {(t, c, r) for (_, t, c, r) in cells}:
            assert cells[(parent, *key)] == sum(cells[(child, *key)] for child in children)


def test_a_household_poor_earlier_then_average_then_poor_fell_back() -> None:
    start, end = Seen("00001", "average", 4), Seen("00001", "poor", 4)
    assert _rows(start, end, frozenset({"poor"})) == {"poor.fell_back"}
    assert _rows(start, end, frozenset()) == {"poor.newly"}


@pytest.mark.parametrize(
    ("choice", "row"),
    [("from_other_class", "poor.from_near_poor"), ("fell_back", "poor.fell_back")],
)
def test_poor_near_poor_poor_follows_the_setting(choice: str, row: str) -> None:
    start, end = Seen("00001", "near_poor", 3), Seen("00001", "poor", 3)
    rows = _rows(start, end, frozenset({"poor"}), after_other_class=choice)
    assert rows == {"near_poor.to_poor", row}


def test_exits_of_the_poor_by_where_they_went() -> None:
    poor = Seen("00001", "poor", 5)
    assert _rows(poor, Seen("00001", "near_poor", 5)) == {
        "poor.to_near_poor",
        "near_poor.from_poor",
    }
    assert _rows(poor, Seen("00001", "average", 5)) == {"poor.above_near_poor"}
    assert _rows(poor, None) == {"poor.other_gone"}
    assert _rows(poor, Seen("00002", "poor", 5)) == {"poor.other_moved_away", "poor.other_moved_in"}


@pytest.mark.parametrize(
    ("choice", "row"), [("newly", "poor.newly"), ("other", "poor.other_appeared")]
)
def test_first_seen_already_poor_follows_the_setting(choice: str, row: str) -> None:
    assert _rows(None, Seen("00001", "poor", 2), None, first_seen=choice) == {row}


@pytest.mark.parametrize(
    ("choice", "earlier", "row"),
    [
        ("by_history", {"poor"}, "poor.fell_back"),
        ("by_history", set(), "poor.newly"),
        ("other", {"poor"}, "poor.other_returned"),
    ],
)
def test_a_return_after_an_absence_follows_the_setting(
    choice: str, earlier: set[str], row: str
) -> None:
    assert _rows(None, Seen("00001", "poor", 2), frozenset(earlier), returned=choice) == {row}


@pytest.mark.parametrize(
    ("choice", "rows"),
    [
        ("moved", {"poor.other_moved_away", "near_poor.other_moved_in"}),
        ("class_change", {"poor.to_near_poor", "near_poor.from_poor"}),
    ],
)
def test_a_move_with_a_class_change_follows_the_setting(choice: str, rows: set[str]) -> None:
    start, end = Seen("00001", "poor", 4), Seen("00003", "near_poor", 4)
    assert _rows(start, end, moved_and_changed=choice) == rows


def test_a_household_that_stays_poor_with_one_member_more_adds_a_person() -> None:
    found = list(
        movements(
            Seen("00001", "poor", 4),
            Seen("00001", "poor", 5),
            earlier=frozenset(),
            seen_earlier=False,
            precedence=Precedence(),
        )
    )
    assert [(m.row, m.households, m.persons) for m in found] == [
        ("stayed", 1, 4),
        ("other_larger", 0, 1),
    ]


@settings(max_examples=200, deadline=None)
@given(households=st.lists(history, max_size=25), precedence=st.sampled_from(EVERY_PRECEDENCE))
def test_households_counted_together_give_what_each_gives_alone(
    households: list[tuple[Seen | None, Seen | None, frozenset[str] | None]],
    precedence: Precedence,
) -> None:
    """The set-wise path groups households by history in SQL; each group must count as its
    households one by one would."""
    alone: Counter[tuple[str, str, str]] = Counter()
    groups: dict[tuple[Any, ...], list[tuple[Seen | None, Seen | None]]] = {}
    for start, end, earlier in households:
        for m in movements(
            start,
            end,
            earlier=earlier or frozenset(),
            seen_earlier=earlier is not None,
            precedence=precedence,
        ):
            alone[(m.commune, m.table, m.row)] += m.households * 1000 + m.persons
        signature = (
            start and (start.commune, start.household_class),
            end and (end.commune, end.household_class),
            earlier,
        )
        groups.setdefault(signature, []).append((start, end))
    together: Counter[tuple[str, str, str]] = Counter()
    for (start_key, end_key, earlier), members in groups.items():
        starts = [s.persons for s, _ in members if s is not None]
        ends = [e.persons for _, e in members if e is not None]
        both = [(s.persons, e.persons) for s, e in members if s is not None and e is not None]
        alike = Alike(
            start=Seen(start_key[0], start_key[1], 0) if start_key else None,
            end=Seen(end_key[0], end_key[1], 0) if end_key else None,
            earlier=earlier or frozenset(),
            seen_earlier=earlier is not None,
            households=len(members),
            start_persons=sum(starts),
            end_persons=sum(ends),
            kept_persons=sum(min(s, e) for s, e in both),
            gained_persons=sum(max(e - s, 0) for s, e in both),
            lost_persons=sum(max(s - e, 0) for s, e in both),
        )
        for m in alike_movements(alike, precedence):
            together[(m.commune, m.table, m.row)] += m.households * 1000 + m.persons
    assert +together == +alone
