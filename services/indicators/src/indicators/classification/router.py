from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from indicators.classification import service as classification_service
from indicators.classification.labels import class_name, indicator_names
from indicators.classification.schemas import Classification, HouseholdClass
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, NotFound
from kit.fields import Offset
from kit.language import Language, LanguageDep

router = APIRouter(
    prefix="/api/v1/classifications",
    tags=["classifications"],
    responses=PROBLEM_RESPONSES,
)
ClassificationReader = Annotated[Caller, requires(Permission.CLASSIFICATIONS_READ)]


class HouseholdClassificationRead(BaseModel):
    household_id: UUID = Field(description="The household's id.")
    household_code: str = Field(description="Its code in its commune.")
    round_id: UUID = Field(description="The review round's id.")
    commune_code: str = Field(description="Its commune on the round's reference date.")
    unit_path: list[str] = Field(description="The codes of its units, province first.")
    household_class: HouseholdClass = Field(description="Its class.")
    deprivation_count: int = Field(description="D: indicators it is deprived in.")
    persons: int = Field(description="Its members.")
    classified_at: datetime = Field(description="When it was last classified (UTC).")
    result: Classification = Field(description="The classification with every reason.")
    personal_data_masked: bool = Field(
        default=False,
        description="Which members triggered each deprivation, and why, withheld (the "
        "caller's role).",
    )
    household_class_name: str = Field(
        default="",
        description="The class's name in the `Accept-Language` asked for (Vietnamese or "
        "English), e.g. `Hộ cận nghèo`.",
    )
    indicator_names: dict[str, str] = Field(
        default={},
        description="The name of each indicator the household is deprived in, by key, in the "
        '`Accept-Language` asked for, e.g. `{"health_insurance": "Bảo hiểm y tế"}`.',
    )


class ClassificationList(BaseModel):
    items: list[HouseholdClassificationRead] = Field(
        description="This page's classified households, in the list's stable order."
    )
    total: int = Field(description="How many classified households match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")


@router.get("/{round_id}", response_model=ClassificationList)
async def list_classifications(
    caller: ClassificationReader,
    round_id: UUID,
    session: SessionDep,
    language: LanguageDep,
    unit_code: Annotated[str | None, Query(pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$")] = None,
    household_class: Annotated[
        HouseholdClass | None, Query(description="Only households of this class.")
    ] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Households of a round in the caller's scope with their class, within a unit and of a
    class if given."""
    items, total = await classification_service.search(
        session,
        caller,
        round_id=round_id,
        unit_code=unit_code,
        household_class=household_class.value if household_class else None,
        offset=offset,
        limit=limit,
    )
    return ClassificationList(
        items=[_classification_for(caller, row, language) for row in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{round_id}/{household_id}", response_model=HouseholdClassificationRead)
async def get_classification(
    caller: ClassificationReader,
    round_id: UUID,
    household_id: UUID,
    session: SessionDep,
    language: LanguageDep,
) -> Any:
    """A household's class in a round, with the income test and each deprivation explained."""
    row = await classification_service.get(session, round_id, household_id)
    if row is None or not caller.may_see(row.unit_path):
        raise NotFound(f"Household {household_id} is not classified in round {round_id} yet.")
    return _classification_for(caller, row, language)


def _classification_for(
    caller: Caller, row: object, language: Language
) -> HouseholdClassificationRead:
    read = HouseholdClassificationRead.model_validate(row, from_attributes=True)
    names = indicator_names(read.result.standard_id, language)
    read = read.model_copy(
        update={
            "household_class_name": class_name(read.household_class, language),
            "indicator_names": {
                deprived.key: names.get(deprived.key, deprived.key)
                for deprived in read.result.deprived
            },
        }
    )
    if caller.can(Permission.PERSONAL_DATA_READ):
        return read
    masked = read.result.without_members(read.persons)
    return read.model_copy(update={"result": masked, "personal_data_masked": True})
