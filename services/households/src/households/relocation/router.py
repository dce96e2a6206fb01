from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from households.audit import service as audit
from households.household.dependencies import HouseholdReader, etag
from households.household.schemas import HouseholdRead
from households.personal import household_for
from households.relocation import service as relocation_service
from households.relocation.dependencies import Relocator
from households.relocation.schemas import (
    Assignment,
    Candidate,
    CarryInput,
    CarryResult,
    CodeChange,
    Held,
    OldCommune,
    RelocationList,
    RelocationRead,
    WaitingFor,
)
from households.review.service import today
from households.unit import service as unit_service
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, problem_responses
from kit.fields import Offset

# Registered before the households router: `/relocations` is not a household id.
router = APIRouter(
    prefix="/api/v1/households/relocations", tags=["relocations"], responses=PROBLEM_RESPONSES
)


@router.get("", response_model=RelocationList)
async def list_relocations(
    caller: HouseholdReader,
    session: SessionDep,
    waiting_for: Annotated[
        WaitingFor | None,
        Query(
            description="`assignment`: split communes' households, for an officer to assign; "
            "`carry`: those the next carry moves. Both without it."
        ),
    ] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RelocationList:
    """List the households still registered in a commune no longer in force whose old commune or
    one of whose candidate communes lies in the caller's scope, by old commune and code, each
    with its candidates and its village as the hint. Each list is recorded in the audit log."""
    items, total = await relocation_service.search(
        session, caller, waiting_for=waiting_for, on=today(), offset=offset, limit=limit
    )
    audit.record_bulk_read(
        session,
        "relocations.listed",
        caller,
        unit_code=None,
        query={"waiting_for": waiting_for},
        rows=len(items),
    )
    return RelocationList(
        items=[_read(stranded) for stranded in items], total=total, offset=offset, limit=limit
    )


@router.post("", response_model=CarryResult)
async def carry_households(
    caller: Relocator, session: SessionDep, carry_in: CarryInput | None = None
) -> CarryResult:
    """Carry onto the map in force today the households of communes that went whole into one
    new commune which the caller's scope covers, up to `limit` per call. Split communes'
    households are left for an officer to assign."""
    carry_in = carry_in or CarryInput()
    result = await relocation_service.carry(
        session, caller, into=carry_in.unit_code, limit=carry_in.limit, on=today()
    )
    return CarryResult(
        carried=result.carried,
        codes_changed=[
            CodeChange(household_id=household_id, old_code=old, new_code=new)
            for household_id, old, new in result.codes_changed
        ],
        held=[
            Held(household_id=household_id, household_code=code, reason=reason)
            for household_id, code, reason in result.held
        ],
        remaining=result.remaining,
    )


@router.post(
    "/{household_id}/assignment",
    response_model=HouseholdRead,
    responses=problem_responses(409),
)
async def assign_household(
    caller: Relocator,
    household_id: UUID,
    assignment: Assignment,
    session: SessionDep,
    response: Response,
) -> HouseholdRead:
    """Register a household of an old commune in one of that commune's successors, which the
    caller's scope covers. Its surveys keep the communes they were recorded in."""
    stranded = await relocation_service.get(session, caller, household_id, today())
    household = await relocation_service.assign(session, caller, stranded, assignment)
    response.headers["ETag"] = etag(household.version)
    return household_for(caller, household)


def _read(stranded: relocation_service.Stranded) -> RelocationRead:
    old = stranded.commune
    assert old.valid_to is not None  # stranded households are in ended communes
    return RelocationRead(
        household_id=stranded.household.id,
        household_code=stranded.household.household_code,
        village=stranded.household.village,
        commune=OldCommune(
            code=old.code,
            name=old.name,
            unit_path=unit_service.path_codes(old),
            valid_to=old.valid_to,
        ),
        candidates=[
            Candidate(code=new.code, name=new.name, relation=succession.relation)
            for new, succession in stranded.candidates
        ],
        waiting_for=stranded.waiting_for,
    )
