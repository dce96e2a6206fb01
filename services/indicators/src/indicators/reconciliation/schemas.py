from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.fields import RequestBody


class ReconciliationRequest(RequestBody):
    round_id: UUID = Field(description="The round to compare.")
    # Ask the households service to publish the round again when the copy differs.
    republish: bool = Field(
        default=False,
        description=(
            "When the copies differ, ask the households service to publish the round again."
        ),
    )


class HouseholdCounts(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: int = Field(description="As the households service counts them.")
    # Assessments in this service's copy (named `copy` outside: BaseModel has a `copy` method).
    held: int = Field(alias="copy", description="As the indicators service holds them.")


class CommuneDifference(BaseModel):
    commune_code: str = Field(description="The commune whose copies differ.")
    households: HouseholdCounts = Field(
        description=(
            "Surveyed households: the households service's count and the indicators' copy."
        )
    )
    checksum_matches: bool = Field(description="Whether the surveys' ids and versions agree.")


class ReconciliationResult(BaseModel):
    round_id: UUID = Field(description="The review round's id.")
    matching: bool = Field(description="True when every commune's copy matches.")
    differences: list[CommuneDifference] = Field(description="The communes whose copies differ.")
    republished: int | None = Field(
        default=None,
        description=(
            "Events the households service staged, when asked to republish; null otherwise."
        ),
    )
