"""Where one household's history puts it in the transition tables (*diễn biến*, DOMAIN §5).

Two tables, one for the poor and one for the near-poor, each: at start; decreases; increases;
at end. A household is placed by what it was in the start round, what it is in the end round,
the commune of each (the start commune restated onto the end round's map) and whether it was
poor or near-poor in a round before the start round.

Every household of a table's class at start lands in exactly one of `stayed` or a decrease, in
its start commune; every household of the class at end in exactly one of `stayed` or an
increase, in its end commune. A commune's start is therefore `stayed + decreases` and its end
`stayed + increases`, so end = start - decreases + increases holds by construction; a unit's
table is the sum of its communes' (a move inside a district is a move out of one commune and
into another at every level), so a unit's rows sum to its parent's.

For persons the cells count the household's members at start (decreases) or at end
(increases); a household that stays in the class counts its smaller size in `stayed` and the
difference in `other_larger` (an increase) or `other_smaller` (a decrease), which keeps the
identity for persons too.

The templates leave some histories open (DOMAIN §5): `Precedence` decides them; every choice
keeps the identity (tests/transitions/test_movements.py checks it over random histories).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field

POOR, NEAR_POOR = "poor", "near_poor"
TABLES = (POOR, NEAR_POOR)
OTHER_CLASS = {POOR: NEAR_POOR, NEAR_POOR: POOR}
STAYED = "stayed"

# The rows of each table, in the templates' order; "other" rows are the templates' "other"
# split by what happened.
DECREASES = {
    POOR: ("to_near_poor", "above_near_poor", "other_moved_away", "other_gone", "other_smaller"),
    NEAR_POOR: ("to_poor", "above_near_poor", "other_moved_away", "other_gone", "other_smaller"),
}
INCREASES = {
    POOR: (
        "from_near_poor",
        "fell_back",
        "newly",
        "other_moved_in",
        "other_appeared",
        "other_returned",
        "other_larger",
    ),
    NEAR_POOR: (
        "from_poor",
        "fell_back",
        "newly",
        "other_moved_in",
        "other_appeared",
        "other_returned",
        "other_larger",
    ),
}
# Rows that count persons only (a size change moves no household).
PERSONS_ONLY = ("other_smaller", "other_larger")


class AfterOtherClass(StrEnum):
    """In the table's class two or more rounds ago, in the other poverty class at start, in the
    table's class again now (poor → near-poor → poor).

    - `from_other_class`: counted as coming from the other class (the last step decides)
    - `fell_back`: counted as falling back, *tái nghèo* (the longer history decides)
    """

    from_other_class = "from_other_class"  # near-poor → poor (the last step decides)
    fell_back = "fell_back"  # tái nghèo (the longer history decides)


class FirstSeen(StrEnum):
    """A household seen for the first time in the end round, already in the class.

    - `newly`: counted as newly in the class, *phát sinh mới*
    - `other`: counted in `other_appeared`: new to the records (split off, moved in from
      outside the data)
    """

    newly = "newly"  # phát sinh mới
    other = "other"  # other_appeared: a household new to the records (split off, moved in
    # from outside the data)


class Returned(StrEnum):
    """A household absent from the start round but seen in an earlier one, in the class now.

    - `by_history`: fell back if it was in the class before, else newly
    - `other`: counted in `other_returned`
    """

    by_history = "by_history"  # fell back if it was in the class before, else newly
    other = "other"  # other_returned


class MovedAndChanged(StrEnum):
    """A household whose commune and class both changed between the two rounds.

    - `moved`: moved away from the start commune, moved into the end commune
    - `class_change`: the class change decides, in each of the two communes
    """

    moved = "moved"  # moved away from the start commune, moved into the end commune
    class_change = "class_change"  # the class change decides, in each of the two communes


class Precedence(BaseModel):
    """How the histories the templates leave open are counted (docs/transitions.md)."""

    after_other_class: AfterOtherClass = Field(
        default=AfterOtherClass.from_other_class,
        description="Poor two rounds ago, near-poor at start, poor at end (and the same for "
        "the near-poor table): counted as coming from the other class, or as falling back.",
    )
    first_seen: FirstSeen = Field(
        default=FirstSeen.newly,
        description="A household first seen in the end round, already in the class: newly "
        "poor (near-poor), or other (appeared).",
    )
    returned: Returned = Field(
        default=Returned.by_history,
        description="A household absent from the start round but seen before it: by its "
        "history (fell back if it was in the class, else newly), or other (returned).",
    )
    moved_and_changed: MovedAndChanged = Field(
        default=MovedAndChanged.moved,
        description="A household that moved between communes and changed class in the same "
        "step: moved away / moved in, or by its class change in each commune.",
    )


@dataclass(frozen=True, slots=True)
class Seen:
    """A household in one round: its commune (on the end round's map), class and size."""

    commune: str
    household_class: str
    persons: int


@dataclass(frozen=True, slots=True)
class Movement:
    """One household's place in one cell: a commune's row of a table."""

    commune: str
    table: str
    row: str
    households: int
    persons: int


def movements(
    start: Seen | None,
    end: Seen | None,
    *,
    earlier: frozenset[str],
    seen_earlier: bool,
    precedence: Precedence,
) -> Iterator[Movement]:
    """The cells a household goes into. `earlier`: its classes in rounds before the start
    round; `seen_earlier`: whether it was in any of them at all."""
    for table in TABLES:
        at_start = start is not None and start.household_class == table
        at_end = end is not None and end.household_class == table
        same_commune = start is not None and end is not None and start.commune == end.commune
        if at_start and at_end and same_commune:
            assert start is not None
            assert end is not None
            # The members it kept; those it gained or lost go to the size rows.
            yield Movement(start.commune, table, STAYED, 1, min(start.persons, end.persons))
            change = end.persons - start.persons
            if change:
                row = "other_larger" if change > 0 else "other_smaller"
                yield Movement(start.commune, table, row, 0, abs(change))
            continue
        if at_start:
            assert start is not None
            row = _decrease(table, end, moved=not same_commune, precedence=precedence)
            yield Movement(start.commune, table, row, 1, start.persons)
        if at_end:
            assert end is not None
            row = _increase(
                table,
                start,
                moved=start is not None and not same_commune,
                earlier=earlier,
                seen_earlier=seen_earlier,
                precedence=precedence,
            )
            yield Movement(end.commune, table, row, 1, end.persons)


def _decrease(table: str, end: Seen | None, *, moved: bool, precedence: Precedence) -> str:
    if end is None:
        return "other_gone"  # not in the end round: dissolved, merged into another, left
    by_class = moved and precedence.moved_and_changed == MovedAndChanged.class_change
    if moved and (not by_class or end.household_class == table):
        return "other_moved_away"
    if end.household_class == OTHER_CLASS[table]:
        return f"to_{OTHER_CLASS[table]}"
    return "above_near_poor"


def _increase(
    table: str,
    start: Seen | None,
    *,
    moved: bool,
    earlier: frozenset[str],
    seen_earlier: bool,
    precedence: Precedence,
) -> str:
    was_in_class = table in earlier
    if start is None:
        if not seen_earlier:
            return "newly" if precedence.first_seen == FirstSeen.newly else "other_appeared"
        if precedence.returned == Returned.other:
            return "other_returned"
        return "fell_back" if was_in_class else "newly"
    by_class = moved and precedence.moved_and_changed == MovedAndChanged.class_change
    if moved and (not by_class or start.household_class == table):
        return "other_moved_in"
    if start.household_class == OTHER_CLASS[table]:
        if was_in_class and precedence.after_other_class == AfterOtherClass.fell_back:
            return "fell_back"
        return f"from_{OTHER_CLASS[table]}"
    return "fell_back" if was_in_class else "newly"


@dataclass(frozen=True, slots=True)
class Alike:
    """Households with the same history (communes, classes, earlier classes), counted together:
    their number, their members at start and at end, the members kept, gained and lost by each
    (`min(start, end)`, `end - start` when larger, `start - end` when smaller)."""

    start: Seen | None  # persons unused
    end: Seen | None  # persons unused
    earlier: frozenset[str]
    seen_earlier: bool
    households: int
    start_persons: int
    end_persons: int
    kept_persons: int
    gained_persons: int
    lost_persons: int


def alike_movements(alike: Alike, precedence: Precedence) -> Iterator[Movement]:
    """The cells of households with one history: what `movements` gives each of them, summed.
    Where a household goes never depends on its size, only the persons counted there do."""
    for placed in movements(
        alike.start,
        alike.end,
        earlier=alike.earlier,
        seen_earlier=alike.seen_earlier,
        precedence=precedence,
    ):
        table, commune = placed.table, placed.commune
        if placed.row == STAYED:
            yield Movement(commune, table, STAYED, alike.households, alike.kept_persons)
            if alike.gained_persons:
                yield Movement(commune, table, "other_larger", 0, alike.gained_persons)
            if alike.lost_persons:
                yield Movement(commune, table, "other_smaller", 0, alike.lost_persons)
        elif placed.row in DECREASES[table]:
            yield Movement(commune, table, placed.row, alike.households, alike.start_persons)
        else:
            yield Movement(commune, table, placed.row, alike.households, alike.end_persons)
