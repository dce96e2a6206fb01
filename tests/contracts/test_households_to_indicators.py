"""Every event the households service can stage is one the indicators service accepts.

Hypothesis draws request bodies from the households request schemas (`AssessmentInput`,
`PopulationInput`): each field's values come from its type and constraints, floats with their
infinities. What the request schema accepts (and the service's own birth-date rule) goes through
the producer's event builder, onto the wire as JSON, and must then be decoded by the consumer's
schema (kit contracts) and handled: classified under every configured standard, or counted.
"""

import json
import math
import types
import typing
from datetime import date, timedelta
from enum import Enum
from typing import Any, Union
from uuid import uuid4

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from households.config import Settings as HouseholdsSettings
from households.household import events as household_events
from households.household.models import Household
from households.household.schemas import AssessmentInput, MemberInput
from households.household.surveys import input_refusals
from households.population.events import population_recorded
from households.population.models import UnitPopulation
from households.population.schemas import PopulationInput
from households.round.models import ReviewRound, RoundKind
from households.unit.models import AdminUnit, DivisionType, UnitLevel
from indicators.classification.engine import classify
from indicators.figures.counts import population_counts
from indicators.standard.service import get_standard
from kit.contracts import AssessmentRecordedV1, Envelope, PopulationRecordedV1, decode
from kit.contracts.households import Area, Relation, WorkingStatus

STANDARDS = HouseholdsSettings.model_fields["POVERTY_STANDARDS"].default
REFERENCE_DATE = date(2024, 11, 1)
NOT_FINITE = [math.inf, -math.inf, math.nan]
MAX_LIST = 6  # long enough for every rule across members, short enough to draw quickly


def _constraint(info: FieldInfo, name: str) -> Any:
    for item in info.metadata:
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def values_of(annotation: Any, info: FieldInfo) -> st.SearchStrategy[Any]:
    """Values of one field, from its type and constraints (and a little beyond them)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return st.none() | st.one_of(*(values_of(option, info) for option in options))
    if origin is typing.Annotated:
        inner = FieldInfo.from_annotation(annotation)
        return values_of(inner.annotation, inner)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return body_of(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from([member.value for member in annotation])
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low = _constraint(info, "ge")
        high = _constraint(info, "le")
        return st.integers(min_value=low, max_value=high)
    if annotation is float:
        # Every float from the lower bound up, and the ones JSON cannot carry, often.
        return st.floats(min_value=_constraint(info, "ge")) | st.sampled_from(NOT_FINITE)
    if annotation is date:
        # A member's birth date: around the reference date, within the ages the service allows.
        return st.dates(REFERENCE_DATE - timedelta(days=131 * 366), REFERENCE_DATE + timedelta(7))
    if annotation is str:
        pattern = _constraint(info, "pattern")
        if pattern is not None:
            return st.from_regex(pattern, fullmatch=True)
        return st.text(
            st.characters(codec="utf-8"),
            min_size=_constraint(info, "min_length") or 0,
            max_size=_constraint(info, "max_length") or 40,
        )
    if origin is list:
        [item] = typing.get_args(annotation)
        low = _constraint(info, "min_length") or 0
        high = min(_constraint(info, "max_length") or MAX_LIST, MAX_LIST)
        return st.lists(values_of(item, FieldInfo()), min_size=low, max_size=max(low, high))
    raise NotImplementedError(f"No strategy for {annotation!r}: add one here.")


def body_of(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Request bodies of `model`: every required field, and any of the optional ones."""
    required = {
        name: values_of(info.annotation, info)
        for name, info in model.model_fields.items()
        if info.is_required()
    }
    optional = {
        name: values_of(info.annotation, info)
        for name, info in model.model_fields.items()
        if not info.is_required()
    }
    return st.fixed_dictionaries(required, optional=optional)


def _consistent(member: dict[str, Any]) -> dict[str, Any]:
    # The rules across a member's fields, kept so that most drawn members pass them.
    if member.get("attending_school") and member.get("school_level") is None:
        member["school_level"] = "primary"
    if (
        member["working_status"] == WorkingStatus.wage_worker
        and member.get("has_labour_contract") is None
    ):
        member["has_labour_contract"] = True
    return member


def _one_head(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        member | {"relation_to_head": Relation.head if index == 0 else Relation.spouse}
        if (index == 0) != (member["relation_to_head"] == Relation.head)
        else member
        for index, member in enumerate(members)
    ]


def _with_income(survey: dict[str, Any]) -> dict[str, Any]:
    if survey.get("income_score_a") is None and survey.get("monthly_income_per_person") is None:
        return survey | {"income_score_a": 100}
    return survey


members = st.lists(body_of(MemberInput).map(_consistent), min_size=1, max_size=MAX_LIST)
surveys = st.builds(
    lambda survey, members: _with_income(survey | {"members": _one_head(members)}),
    body_of(AssessmentInput),
    members,
)


def commune(area: Area) -> AdminUnit:
    return AdminUnit(
        code="08764",
        name="Xã Quang Sơn",
        search_name="xa quang son",
        level=UnitLevel.commune,
        division_type=DivisionType.commune,
        area=area,
        parent_code="246",
        province_code="26",
        district_code="246",
        valid_from=date(2020, 1, 1),
        source="test",
    )


def on_the_wire(envelope: Envelope) -> Envelope:
    """The envelope as the consumer reads it: JSON text, as the outbox and the broker carry it."""
    return Envelope.model_validate(json.loads(envelope.model_dump_json()))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(body=surveys, area=st.sampled_from(Area), version=st.integers(1, 1000))
def test_every_assessment_the_producer_stages_is_classified_by_the_consumer(
    body: dict[str, Any], area: Area, version: int
) -> None:
    try:
        survey = AssessmentInput.model_validate(body)
    except ValidationError:
        reject()  # the households service refuses it: never staged
    if input_refusals(survey, REFERENCE_DATE):
        reject()  # refused by the survey's own rules (birth dates, an ID twice): never staged
    household = Household(
        household_code="HH-1",
        commune_code="08764",
        village="Thôn 1",
        province_code="26",
        district_code="246",
        version=1,
    )
    for standard_id in STANDARDS:
        review_round = ReviewRound(
            year=2024,
            kind=RoundKind.periodic,
            reference_date=REFERENCE_DATE,
            standard_id=standard_id,
            name="Periodic review 2024",
        )
        envelope = household_events.assessment_recorded(
            survey,
            assessment_id=uuid4(),
            version=version,
            household=household,
            review_round=review_round,
            commune=commune(area),
        )

        event = decode(on_the_wire(envelope))

        assert isinstance(event, AssessmentRecordedV1)
        assert event.dwelling.floor_area_m2 == survey.dwelling.floor_area_m2
        classify(event, get_standard(standard_id))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(body=body_of(PopulationInput), area=st.sampled_from(Area), version=st.integers(1, 1000))
def test_every_population_the_producer_stages_is_counted_by_the_consumer(
    body: dict[str, Any], area: Area, version: int
) -> None:
    try:
        population_in = PopulationInput.model_validate(body)
    except ValidationError:
        reject()
    population = UnitPopulation(
        round_id=uuid4(),
        unit_code="08764",
        province_code="26",
        district_code="246",
        resident_households=population_in.resident_households,
        resident_persons=population_in.resident_persons,
        version=version,
    )

    event = decode(on_the_wire(population_recorded(population, commune(area))))

    assert isinstance(event, PopulationRecordedV1)
    assert (event.resident_households, event.resident_persons) == (
        population_in.resident_households,
        population_in.resident_persons,
    )
    population_counts(
        area=event.area,
        resident_households=event.resident_households,
        resident_persons=event.resident_persons,
    )
