from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.fields import RequestBody


class ReconciliationRequest(RequestBody):
    round_id: UUID
    # Ask the households service to publish the round again when the copy differs.
    republish: bool = False


class HouseholdCounts(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: int  # surveyed households, as the households service counts them
    # Assessments in this service's copy (named `copy` outside: BaseModel has a `copy` method).
    held: int = Field(alias="copy")


class CommuneDifference(BaseModel):
    commune_code: str
    households: HouseholdCounts
    checksum_matches: bool


class ReconciliationResult(BaseModel):
    round_id: UUID
    matching: bool
    differences: list[CommuneDifference]
    republished: int | None = None  # events the households service staged, when asked to
