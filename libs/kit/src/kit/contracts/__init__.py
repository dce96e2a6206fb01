"""Message contracts: the envelope and every published event type, and a catalogue of them."""

from typing import Any

from kit.contracts.base import Envelope, Event
from kit.contracts.households import (
    AssessmentRecordedV1,
    AssessmentsRecordedV1,
    HouseholdRegisteredV1,
    HouseholdsRegisteredV1,
    HouseholdUpdatedV1,
    PopulationRecordedV1,
    ProvinceApprovedV1,
    ReviewReopenedV1,
    ReviewStepChangedV1,
    RoundOpenedV1,
    SupportRecordedV1,
    SupportWithdrawnV1,
    UnitSuccessionsRecordedV1,
)
from kit.contracts.identity import AccessChange, AccessChangedV1
from kit.contracts.indicators import (
    HouseholdClassChangedV1,
    HouseholdClassesChangedV1,
    HouseholdLeftBehindV1,
    HouseholdsLeftBehindV1,
    TargetProgressChangedV1,
    VersionedClassChange,
    VersionedLeftBehind,
)

PUBLISHED: tuple[type[Event], ...] = (
    RoundOpenedV1,
    HouseholdRegisteredV1,
    HouseholdsRegisteredV1,
    HouseholdUpdatedV1,
    AssessmentRecordedV1,
    AssessmentsRecordedV1,
    PopulationRecordedV1,
    ReviewStepChangedV1,
    ReviewReopenedV1,
    ProvinceApprovedV1,
    UnitSuccessionsRecordedV1,
    SupportRecordedV1,
    SupportWithdrawnV1,
    HouseholdClassChangedV1,
    HouseholdClassesChangedV1,
    TargetProgressChangedV1,
    HouseholdLeftBehindV1,
    HouseholdsLeftBehindV1,
    AccessChangedV1,
)
EVENT_TYPES: dict[str, type[Event]] = {event.TYPE: event for event in PUBLISHED}


class UnknownEventType(LookupError):
    pass


def decode(envelope: Envelope) -> Event:
    """The typed data of `envelope`; raises UnknownEventType or pydantic.ValidationError."""
    try:
        event_class = EVENT_TYPES[envelope.type]
    except KeyError:
        raise UnknownEventType(envelope.type) from None
    return event_class.model_validate(envelope.data)


def catalogue() -> dict[str, Any]:
    """A machine-readable catalogue: the envelope's and each event type's JSON Schema."""
    return {
        "envelope": Envelope.model_json_schema(),
        "events": {
            event.TYPE: {
                "schema_version": event.SCHEMA_VERSION,
                "description": (event.__doc__ or "").strip(),
                "data": event.model_json_schema(),
            }
            for event in PUBLISHED
        },
    }


__all__ = [
    "EVENT_TYPES",
    "PUBLISHED",
    "AccessChange",
    "AccessChangedV1",
    "AssessmentRecordedV1",
    "Envelope",
    "Event",
    "HouseholdClassChangedV1",
    "HouseholdClassesChangedV1",
    "HouseholdLeftBehindV1",
    "HouseholdRegisteredV1",
    "HouseholdUpdatedV1",
    "HouseholdsLeftBehindV1",
    "PopulationRecordedV1",
    "ProvinceApprovedV1",
    "ReviewReopenedV1",
    "ReviewStepChangedV1",
    "RoundOpenedV1",
    "SupportRecordedV1",
    "SupportWithdrawnV1",
    "TargetProgressChangedV1",
    "UnitSuccessionsRecordedV1",
    "UnknownEventType",
    "VersionedClassChange",
    "VersionedLeftBehind",
    "catalogue",
    "decode",
]
