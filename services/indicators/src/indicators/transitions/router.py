from collections.abc import Iterable, Mapping
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import service as figures_service
from indicators.figures.cell_key import perturb
from indicators.figures.models import RoundRef
from indicators.figures.router import DISCLOSURE
from indicators.transitions import service as transitions_service
from indicators.transitions.movements import (
    AfterOtherClass,
    FirstSeen,
    MovedAndChanged,
    Precedence,
    Returned,
)
from indicators.transitions.schemas import (
    ClassTransitions,
    TransitionHousehold,
    TransitionHouseholdList,
    TransitionsAnswer,
    TransitionTable,
    UnitTransitions,
)
from indicators.transitions.service import COUNTED, TABLES, Cell, Transitions, summed, table
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, FieldError, InvalidInput, NotFound
from kit.fields import Offset

router = APIRouter(prefix="/api/v1/transitions", tags=["transitions"], responses=PROBLEM_RESPONSES)

UnitCode = Annotated[
    str,
    Path(
        pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
        description="A unit of the end round's map: province, district or commune code.",
    ),
]
FromRoundId = Annotated[
    UUID,
    Path(description="The start round's id (`GET /api/v1/rounds`), e.g. the 2024 periodic round."),
]
ToRoundId = Annotated[
    UUID,
    Path(
        description="The end round's id: a later round of the same kind (periodic or regular), "
        "e.g. the 2026 periodic round."
    ),
]
FiguresReader = Annotated[Caller, requires(Permission.FIGURES_READ)]
HouseholdsReader = Annotated[Caller, requires(Permission.CLASSIFICATIONS_READ)]

AfterOtherClassQuery = Annotated[
    AfterOtherClass, Query(description=Precedence.model_fields["after_other_class"].description)
]
FirstSeenQuery = Annotated[
    FirstSeen, Query(description=Precedence.model_fields["first_seen"].description)
]
ReturnedQuery = Annotated[
    Returned, Query(description=Precedence.model_fields["returned"].description)
]
MovedAndChangedQuery = Annotated[
    MovedAndChanged, Query(description=Precedence.model_fields["moved_and_changed"].description)
]


@router.get("/{from_round_id}/{to_round_id}/{unit_code}", response_model=TransitionsAnswer)
async def get_transitions(
    caller: FiguresReader,
    from_round_id: FromRoundId,
    to_round_id: ToRoundId,
    unit_code: UnitCode,
    session: SessionDep,
    after_other_class: AfterOtherClassQuery = AfterOtherClass.from_other_class,
    first_seen: FirstSeenQuery = FirstSeen.newly,
    returned: ReturnedQuery = Returned.by_history,
    moved_and_changed: MovedAndChangedQuery = MovedAndChanged.moved,
) -> TransitionsAnswer:
    """The poor and near-poor transitions (*diễn biến*) of a unit and its children between
    two rounds of one kind, households and persons (docs/transitions.md). The unit is one of
    the end round's map; the start round is restated onto it through the crosswalk.

    For roles that see aggregates only, every commune's cells are perturbed (`disclosure`)."""
    precedence = Precedence(
        after_other_class=after_other_class,
        first_seen=first_seen,
        returned=returned,
        moved_and_changed=moved_and_changed,
    )
    end, found = await _found(session, caller, from_round_id, to_round_id, unit_code, precedence)
    exact = caller.can(Permission.SMALL_CELLS_READ)

    def unit(code: str, level: str) -> UnitTransitions:
        rows = found.leaf_rows(code)
        return _unit(code, level, rows if exact else _perturbed(rows))

    unassigned = found.unassigned_households
    if not exact and unassigned:
        unassigned = perturb(unassigned, found.unassigned_key_sum, "households.unassigned")
    child_level = _child_level(found)
    return TransitionsAnswer(
        from_round_id=from_round_id,
        to_round_id=to_round_id,
        map_date=end.reference_date,
        precedence=precedence,
        unit=unit(unit_code, found.level),
        children=[unit(child, child_level) for child in found.children()],
        unassigned_households=unassigned,
        disclosure=None if exact else DISCLOSURE,
    )


@router.get(
    "/{from_round_id}/{to_round_id}/{unit_code}/households",
    response_model=TransitionHouseholdList,
)
async def list_transition_households(
    caller: HouseholdsReader,
    from_round_id: FromRoundId,
    to_round_id: ToRoundId,
    unit_code: UnitCode,
    session: SessionDep,
    table_: Annotated[
        Literal["poor", "near_poor"] | None, Query(alias="table", description="Of this table.")
    ] = None,
    row: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[a-z_]+$",
            description="In this row (e.g. fell_back, to_near_poor, stayed).",
        ),
    ] = None,
    after_other_class: AfterOtherClassQuery = AfterOtherClass.from_other_class,
    first_seen: FirstSeenQuery = FirstSeen.newly,
    returned: ReturnedQuery = Returned.by_history,
    moved_and_changed: MovedAndChangedQuery = MovedAndChanged.moved,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TransitionHouseholdList:
    """Who is behind the counts: the unit's households in the rows asked for (who exited, who
    fell back), in household id order. For roles that see households."""
    precedence = Precedence(
        after_other_class=after_other_class,
        first_seen=first_seen,
        returned=returned,
        moved_and_changed=moved_and_changed,
    )
    _, found = await _found(
        session, caller, from_round_id, to_round_id, unit_code, precedence, keep_households=True
    )
    items = []
    for placed in found.placed:
        rows = [
            f"{movement.table}.{movement.row}"
            for movement in placed.movements
            if (table_ is None or movement.table == table_)
            and (row is None or movement.row == row)
            and movement.households
        ]
        if rows:
            items.append(
                TransitionHousehold(
                    household_id=placed.household_id,
                    household_code=placed.household_code,
                    start_class=placed.start_class,
                    end_class=placed.end_class,
                    start_commune=placed.start_commune,
                    end_commune=placed.end_commune,
                    rows=rows,
                )
            )
    return TransitionHouseholdList(
        items=items[offset : offset + limit], total=len(items), offset=offset, limit=limit
    )


async def _found(
    session: AsyncSession,
    caller: Caller,
    from_round_id: UUID,
    to_round_id: UUID,
    unit_code: str,
    precedence: Precedence,
    *,
    keep_households: bool = False,
) -> tuple[RoundRef, Transitions]:
    """The two rounds, checked, and the unit's transitions; 404 for what the caller may not see."""
    start = await figures_service.get_round(session, from_round_id)
    end = await figures_service.get_round(session, to_round_id)
    if start is None or end is None:
        raise NotFound(f"No transitions for unit {unit_code} between these rounds yet.")
    problem = transitions_service.check_order(start, end)
    if problem is not None:
        raise InvalidInput(
            problem,
            errors=[
                FieldError(loc=["path", "from_round_id"], msg=problem),
                FieldError(loc=["path", "to_round_id"], msg=problem),
            ],
        )
    found = await transitions_service.transitions(
        session, start, end, unit_code, precedence, keep_households=keep_households
    )
    if found is None or not caller.may_see(found.path):
        raise NotFound(f"No transitions for unit {unit_code} between these rounds yet.")
    return end, found


def _perturbed(rows: Iterable[tuple[Cell, int, int]]) -> list[tuple[Cell, int]]:
    """Each commune cell moved by its cell key, as the figures' leaf cells are (`cell_key`):
    the same households in a cell always give the same published count."""
    return [
        (cell, perturb(value, key_sum, f"{cell[2]}.transitions.{cell[1]}.{cell[3]}"))
        for cell, value, key_sum in rows
    ]


def _unit(
    code: str, level: str, rows: Iterable[tuple[Cell, int, int]] | list[tuple[Cell, int]]
) -> UnitTransitions:
    cells: Mapping[tuple[str, str, str], int] = summed((row[0], row[1]) for row in rows)
    tables = {
        name: ClassTransitions(
            **{counted: _table(table(cells, name, counted)) for counted in COUNTED}
        )
        for name in TABLES
    }
    return UnitTransitions(unit_code=code, level=level, **tables)


def _table(found: transitions_service.Table) -> TransitionTable:
    return TransitionTable(
        start=found.start,
        decreases=found.decreases,
        increases=found.increases,
        decreases_total=sum(found.decreases.values()),
        increases_total=sum(found.increases.values()),
        end=found.end,
    )


def _child_level(found: Transitions) -> str:
    any_path = next(iter(found.paths.values()))
    return "commune" if len(found.path) + 1 == len(any_path) else "district"
