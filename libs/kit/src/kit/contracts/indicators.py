"""Events published by the indicators service."""

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.contracts.base import Event


class HouseholdClassChangedV1(Event):
    """Published by indicators when a household's class in a round differs from its last one."""

    TYPE: ClassVar[str] = "indicators.household.class_changed.v1"

    household_id: UUID
    household_code: str
    round_id: UUID
    standard_id: str
    commune_code: str
    commune_name: str | None = None
    unit_path: list[str]
    previous_class: str | None = Field(description="None when first classified in the round.")
    new_class: str
    deprivation_count: int


class VersionedClassChange(BaseModel):
    """One household's class change of a batch, with the `sequence` its own event would carry
    (the classification's revision in the round)."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=1, description="The revision: a later change is larger.")
    change: HouseholdClassChangedV1
    correlation_id: str | None = Field(
        default=None,
        description="The request this change comes from, when it is not the message's own "
        "`correlation_id` (surveys of several requests applied together).",
    )


class HouseholdClassesChangedV1(Event):
    """Published by indicators for the class changes of one batch of surveys applied together (a
    bulk import's batch message, single survey events delivered together from a backlog, a
    recalculation): the facts of one `indicators.household.class_changed.v1` per household, in
    one message, so that a province's million first classifications cost the bus a few hundred
    messages. A survey applied alone (an interactive write, as it usually arrives) announces its
    change as a single event. Consumers apply the batch as they would apply its changes' single
    events in this order."""

    TYPE: ClassVar[str] = "indicators.household.classes_changed.v1"

    changes: list[VersionedClassChange] = Field(min_length=1, max_length=10_000)


class TargetProgressChangedV1(Event):
    """Published by indicators when a unit's target goes off track or is reached (a change of
    its status, seen by the periodic check of targets against the latest figures)."""

    TYPE: ClassVar[str] = "indicators.target.progress_changed.v1"

    target_id: UUID
    unit_code: str
    unit_path: list[str] = Field(description="The unit's codes from its province down.")
    measure: str = Field(description="poverty_rate or multidimensional_poverty_rate.")
    kind: str = Field(description="below_by (a rate by a year) or reduction_per_year.")
    target_year: int
    target_percent: float = Field(description="The rate the trajectory ends at, in %.")
    status: str = Field(description="off_track or reached.")
    previous_status: str = Field(description="unknown, on_track, off_track or reached.")
    year: int = Field(description="The review year of the figures that decided it.")
    round_id: UUID
    figures_status: str = Field(description="approved or provisional.")
    rate_percent: float = Field(
        description="The unit's exact rate in that round, in %: not for aggregate-only roles."
    )
    expected_percent: float = Field(description="Where the trajectory is that year, in %.")


class HouseholdLeftBehindV1(Event):
    """Published by indicators when a household enters a round's left-behind list: deprived in
    an information indicator of its standard and no support recorded since its survey (or,
    past the configured number of days, none within them), so that the commune's digital team
    can be told."""

    TYPE: ClassVar[str] = "indicators.household.left_behind.v1"

    household_id: UUID
    household_code: str
    round_id: UUID
    standard_id: str
    commune_code: str
    commune_name: str | None = None
    unit_path: list[str]
    deprived_indicators: list[str] = Field(
        description="The information indicators it is deprived in (keys of its standard)."
    )
    waiting_since: date = Field(description="Its survey date, or its last support if later.")
    reason: str = Field(description="no_support_since_survey or no_support_within_days.")


class VersionedLeftBehind(BaseModel):
    """One household's entry of a batch, with the `sequence` its own event would carry (the
    number of times it has entered the round's list)."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=1, description="The entry's number: a later entry is larger.")
    household: HouseholdLeftBehindV1
    correlation_id: str | None = Field(
        default=None,
        description="The request this entry comes from, when it is not the message's own "
        "`correlation_id` (surveys of several requests applied together).",
    )


class HouseholdsLeftBehindV1(Event):
    """Published by indicators for the households that entered left-behind lists while one batch
    of surveys was applied (a bulk import's batch message, single survey events delivered
    together from a backlog, a recalculation): the facts of one
    `indicators.household.left_behind.v1` per household, in one message. Entries from a survey
    applied alone, from recorded support or from the daily check are single events."""

    TYPE: ClassVar[str] = "indicators.households.left_behind.v1"

    households: list[VersionedLeftBehind] = Field(min_length=1, max_length=10_000)
