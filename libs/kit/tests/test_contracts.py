"""Message contracts: frozen published schemas, the catalogue, decoding, and the public names."""

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

import kit.contracts
import kit.messaging
from kit.contracts import (
    EVENT_TYPES,
    PUBLISHED,
    AccessChange,
    AccessChangedV1,
    AssessmentRecordedV1,
    Envelope,
    Event,
    HouseholdClassChangedV1,
    HouseholdClassesChangedV1,
    HouseholdLeftBehindV1,
    HouseholdRegisteredV1,
    HouseholdsLeftBehindV1,
    HouseholdUpdatedV1,
    PopulationRecordedV1,
    ProvinceApprovedV1,
    ReviewReopenedV1,
    ReviewStepChangedV1,
    RoundOpenedV1,
    SupportRecordedV1,
    SupportWithdrawnV1,
    TargetProgressChangedV1,
    UnitSuccessionsRecordedV1,
    UnknownEventType,
    VersionedClassChange,
    VersionedLeftBehind,
    catalogue,
    decode,
)
from kit.contracts.households import (
    Area,
    AssessmentsRecordedV1,
    Device,
    DwellingFacts,
    HouseholdsRegisteredV1,
    Latrine,
    MemberFacts,
    Relation,
    ReviewState,
    Sex,
    SuccessionRelation,
    SupportGiven,
    SupportKind,
    UnitSuccession,
    VersionedAssessment,
    WaterSource,
    WorkingStatus,
)

SNAPSHOTS = Path(__file__).parent / "contracts" / "snapshots"


def example(event_class: type[Event]) -> Event:
    """A valid instance of each published event type."""
    round_id = uuid4()
    household = {
        "household_id": uuid4(),
        "household_code": "HH-0001",
        "commune_code": "00001",
        "unit_path": ["01", "001", "00001"],
        "village": "Tổ 1",
    }
    examples: dict[type[Event], Event] = {
        RoundOpenedV1: RoundOpenedV1(
            round_id=round_id,
            year=2025,
            kind="periodic",
            reference_date=date(2025, 11, 1),
            standard_id="VN-2022-2025",
            name="Periodic review 2025",
        ),
        HouseholdRegisteredV1: HouseholdRegisteredV1(**household, version=1),
        HouseholdUpdatedV1: HouseholdUpdatedV1(**household, version=2),
        AssessmentRecordedV1: AssessmentRecordedV1(
            assessment_id=uuid4(),
            household_id=uuid4(),
            household_code="HH-0001",
            round_id=round_id,
            round_year=2025,
            standard_id="2022-2025",
            reference_date=date(2025, 10, 1),
            commune_code="00001",
            commune_name="Phúc Xá",
            unit_path=["01", "001", "00001"],
            area=Area.urban,
            members=[
                MemberFacts(
                    member_no=1,
                    age_years=42,
                    age_months=510,
                    sex=Sex.female,
                    relation_to_head=Relation.head,
                    working_status=WorkingStatus.self_employed,
                    has_health_insurance=True,
                )
            ],
            dwelling=DwellingFacts(floor_area_m2=35.5),
            water_source=WaterSource.piped,
            latrine=Latrine.septic,
            internet_use=True,
            devices=[Device.smartphone, Device.tv],
            monthly_income_per_person=2_100_000,
        ),
    }
    survey = examples[AssessmentRecordedV1]
    assert isinstance(survey, AssessmentRecordedV1)
    examples[AssessmentsRecordedV1] = AssessmentsRecordedV1(
        assessments=[VersionedAssessment(sequence=1, assessment=survey)]
    )
    registered = examples[HouseholdRegisteredV1]
    assert isinstance(registered, HouseholdRegisteredV1)
    examples[HouseholdsRegisteredV1] = HouseholdsRegisteredV1(households=[registered])
    examples |= {
        PopulationRecordedV1: PopulationRecordedV1(
            round_id=round_id,
            unit_code="00001",
            unit_path=["01", "001", "00001"],
            area=Area.urban,
            resident_households=1200,
            resident_persons=4100,
        ),
        ReviewStepChangedV1: ReviewStepChangedV1(
            round_id=round_id,
            commune_code="00001",
            province_code="01",
            unit_path=["01", "001", "00001"],
            from_state=ReviewState.posted,
            to_state=ReviewState.approved,
            actor="officer-1",
            at=datetime(2025, 12, 1, 9, 0, tzinfo=UTC),
            version=3,
        ),
        ReviewReopenedV1: ReviewReopenedV1(
            round_id=round_id,
            commune_code="00001",
            province_code="01",
            unit_path=["01", "001", "00001"],
            from_state=ReviewState.approved,
            to_state=ReviewState.surveyed,
            actor="admin-1",
            at=datetime(2025, 12, 20, 9, 0, tzinfo=UTC),
            reason="A household was scored twice.",
            province_approval_withdrawn=True,
            version=4,
        ),
        ProvinceApprovedV1: ProvinceApprovedV1(
            round_id=round_id,
            province_code="01",
            communes=126,
            actor="province-1",
            at=datetime(2025, 12, 14, 9, 0, tzinfo=UTC),
        ),
        UnitSuccessionsRecordedV1: UnitSuccessionsRecordedV1(
            source="vietnamadminunits 1.0.4",
            effective=date(2025, 7, 1),
            predecessor_province_code="26",
            successions=[
                UnitSuccession(
                    predecessor_code="08707",
                    predecessor_valid_from=date(2008, 8, 1),
                    successor_code="08707",
                    successor_valid_from=date(2025, 7, 1),
                    successor_level="commune",
                    successor_unit_path=["25", "08707"],
                    successor_area=Area.urban,
                    relation=SuccessionRelation.whole,
                )
            ],
        ),
        HouseholdClassChangedV1: HouseholdClassChangedV1(
            household_id=uuid4(),
            household_code="HH-0001",
            round_id=round_id,
            standard_id="2022-2025",
            commune_code="00001",
            unit_path=["01", "001", "00001"],
            previous_class=None,
            new_class="near_poor",
            deprivation_count=2,
        ),
        TargetProgressChangedV1: TargetProgressChangedV1(
            target_id=uuid4(),
            unit_code="26",
            unit_path=["26"],
            measure="poverty_rate",
            kind="below_by",
            target_year=2023,
            target_percent=0.7,
            status="off_track",
            previous_status="on_track",
            year=2023,
            round_id=round_id,
            figures_status="provisional",
            rate_percent=0.85,
            expected_percent=0.7,
        ),
        SupportRecordedV1: SupportRecordedV1(
            records=[
                SupportGiven(
                    support_id=uuid4(),
                    household_id=uuid4(),
                    household_code="HH-0001",
                    commune_code="00001",
                    unit_path=["01", "00001"],
                    kind=SupportKind.device_given,
                    device=Device.smartphone,
                    given_on=date(2026, 11, 20),
                    team_id=uuid4(),
                    member_id=uuid4(),
                )
            ]
        ),
        SupportWithdrawnV1: SupportWithdrawnV1(
            support_id=uuid4(),
            household_id=uuid4(),
            commune_code="00001",
            unit_path=["01", "00001"],
            reason="Entered for the wrong household.",
        ),
        HouseholdLeftBehindV1: HouseholdLeftBehindV1(
            household_id=uuid4(),
            household_code="HH-0001",
            round_id=round_id,
            standard_id="VN-2022-2025",
            commune_code="00001",
            unit_path=["01", "00001"],
            deprived_indicators=["telecom_use"],
            waiting_since=date(2026, 11, 5),
            reason="no_support_since_survey",
        ),
        AccessChangedV1: AccessChangedV1(
            token_subject="user:lan",
            reason=AccessChange.deactivated,
            not_before=datetime(2026, 12, 1, 8, 30, tzinfo=UTC),
        ),
    }
    changed = examples[HouseholdClassChangedV1]
    assert isinstance(changed, HouseholdClassChangedV1)
    examples[HouseholdClassesChangedV1] = HouseholdClassesChangedV1(
        changes=[VersionedClassChange(sequence=1, change=changed)]
    )
    left_behind = examples[HouseholdLeftBehindV1]
    assert isinstance(left_behind, HouseholdLeftBehindV1)
    examples[HouseholdsLeftBehindV1] = HouseholdsLeftBehindV1(
        households=[VersionedLeftBehind(sequence=1, household=left_behind)]
    )
    return examples[event_class]


def wrapped(event: Event, **overrides: object) -> Envelope:
    options: dict[str, object] = {"producer": "households", "subject": "s-1", "sequence": 1}
    return Envelope.wrap(event, **(options | overrides))  # type: ignore[arg-type]


published = pytest.mark.parametrize("event_class", PUBLISHED, ids=lambda cls: cls.__name__)


class TestPublishedSchemas:
    @published
    def test_a_published_version_never_changes(self, event_class: type[Event]) -> None:
        """A published version's JSON Schema is frozen in `contracts/snapshots/<Class>.json`.

        If this fails, you changed what a published version means on the wire. Do not update the
        snapshot: publish a new `…V2` class beside `…V1` (with its own snapshot) and keep V1 until
        every consumer has moved (STYLE.md §4.9). Adding an optional field is the one schema
        change that is not a new version, and description wording is documentation: for those
        two, and only after checking, rewrite the snapshot from `model_json_schema()`.
        """
        assert event_class.model_json_schema() == _snapshot(event_class)

    def test_the_envelope_never_changes(self) -> None:
        """The envelope frames every message: changing it breaks every consumer at once."""
        assert Envelope.model_json_schema() == _snapshot(Envelope)

    def test_every_published_version_has_a_snapshot_and_every_snapshot_a_version(self) -> None:
        """Retiring a version means deleting its snapshot on purpose, in the same change."""
        frozen = {path.stem for path in SNAPSHOTS.glob("*.json")}

        assert frozen == {cls.__name__ for cls in PUBLISHED} | {"Envelope"}

    @published
    def test_a_type_names_its_producer_and_ends_with_the_class_version(
        self, event_class: type[Event]
    ) -> None:
        version = int(event_class.__name__.rsplit("V", 1)[1])

        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+){2}\.v\d+", event_class.TYPE)
        assert event_class.TYPE.endswith(f".v{version}")
        assert event_class.SCHEMA_VERSION == version

    @published
    def test_a_published_class_says_who_publishes_it_and_when(
        self, event_class: type[Event]
    ) -> None:
        assert (event_class.__doc__ or "").startswith("Published by ")

    def test_published_types_are_unique(self) -> None:
        assert len(EVENT_TYPES) == len(PUBLISHED)
        assert all(EVENT_TYPES[cls.TYPE] is cls for cls in PUBLISHED)


class TestCatalogue:
    def test_lists_every_published_type_with_its_version_description_and_schema(self) -> None:
        listed = catalogue()["events"]

        assert set(listed) == {cls.TYPE for cls in PUBLISHED}
        for event_class in PUBLISHED:
            entry = listed[event_class.TYPE]
            assert entry["schema_version"] == event_class.SCHEMA_VERSION
            assert entry["description"] == (event_class.__doc__ or "").strip()
            assert entry["data"] == event_class.model_json_schema()

    def test_includes_the_envelope_schema(self) -> None:
        assert catalogue()["envelope"] == Envelope.model_json_schema()

    def test_is_plain_json(self) -> None:
        document = catalogue()

        assert json.loads(json.dumps(document)) == document


class TestEnvelope:
    @published
    def test_wrap_carries_the_events_type_version_and_data(self, event_class: type[Event]) -> None:
        event = example(event_class)

        envelope = wrapped(event, subject="household-9", sequence=3, correlation_id="req-1")

        assert envelope.type == event_class.TYPE
        assert envelope.schema_version == event_class.SCHEMA_VERSION
        assert envelope.producer == "households"
        assert envelope.subject == "household-9"
        assert envelope.sequence == 3
        assert envelope.correlation_id == "req-1"
        assert envelope.data == json.loads(event.model_dump_json())

    def test_wrap_stamps_the_current_time_unless_given_one(self) -> None:
        event = example(PopulationRecordedV1)
        earlier = datetime(2025, 10, 1, 8, 30, tzinfo=UTC)

        stamped = wrapped(event)
        given = wrapped(event, occurred_at=earlier)

        assert abs(stamped.occurred_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert given.occurred_at == earlier

    def test_each_envelope_gets_an_id_of_its_own(self) -> None:
        event = example(PopulationRecordedV1)

        assert wrapped(event).id != wrapped(event).id

    def test_a_sequence_starts_at_one(self) -> None:
        with pytest.raises(ValidationError):
            wrapped(example(PopulationRecordedV1), sequence=0)

    def test_occurred_at_must_carry_a_time_zone(self) -> None:
        with pytest.raises(ValidationError):
            wrapped(example(PopulationRecordedV1), occurred_at=datetime(2025, 10, 1, 8, 30))


class TestDecode:
    @published
    def test_decode_round_trips_a_wrapped_event(self, event_class: type[Event]) -> None:
        event = example(event_class)

        assert decode(wrapped(event)) == event

    @published
    def test_decode_round_trips_an_event_through_the_wire_format(
        self, event_class: type[Event]
    ) -> None:
        event = example(event_class)
        on_the_wire = wrapped(event).model_dump_json()

        decoded = decode(Envelope.model_validate_json(on_the_wire))

        assert decoded == event
        assert type(decoded) is event_class

    def test_an_unknown_type_raises_unknown_event_type(self) -> None:
        envelope = wrapped(example(PopulationRecordedV1)).model_copy(
            update={"type": "households.population.recorded.v9"}
        )

        with pytest.raises(UnknownEventType, match=r"households\.population\.recorded\.v9"):
            decode(envelope)

    def test_unknown_event_type_is_a_lookup_error(self) -> None:
        assert issubclass(UnknownEventType, LookupError)

    def test_data_invalid_for_its_type_raises_a_validation_error(self) -> None:
        envelope = wrapped(example(PopulationRecordedV1))
        broken = envelope.model_copy(update={"data": {**envelope.data, "area": "suburban"}})

        with pytest.raises(ValidationError):
            decode(broken)

    def test_fields_a_consumer_does_not_know_yet_are_ignored(self) -> None:
        event = example(PopulationRecordedV1)
        envelope = wrapped(event)
        newer = envelope.model_copy(update={"data": {**envelope.data, "added_later": 1}})

        assert decode(newer) == event

    @published
    def test_a_decoded_event_is_immutable(self, event_class: type[Event]) -> None:
        event = decode(wrapped(example(event_class)))

        with pytest.raises(ValidationError):
            event.__setattr__("round_id", uuid4())


class TestPublicNames:
    """The public names are frozen (httpx style): removing or renaming one breaks services."""

    def test_kit_contracts_exports_exactly_these_names(self) -> None:
        assert kit.contracts.__all__ == [
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

    def test_kit_messaging_exports_exactly_these_names(self) -> None:
        assert kit.messaging.__all__ == [
            "BatchEventHandler",
            "BatchHandler",
            "DeadLetter",
            "EventConsumer",
            "EventHandler",
            "InProcessBus",
            "IncomingMessage",
            "MessageBus",
            "MessageHandler",
            "OutboxRelay",
            "Outcome",
            "OutgoingMessage",
            "PoisonMessage",
            "PublishFailed",
            "QueueSpec",
            "RabbitMQBus",
            "define_inbox",
            "define_outbox",
            "one_at_a_time",
            "pending_count",
            "stage",
            "stage_many",
            "unpublish",
        ]

    @pytest.mark.parametrize("module", [kit.contracts, kit.messaging], ids=lambda m: m.__name__)
    def test_every_exported_name_exists(self, module: object) -> None:
        assert all(hasattr(module, name) for name in getattr(module, "__all__", []))


def _snapshot(model: type[BaseModel]) -> object:
    return json.loads((SNAPSHOTS / f"{model.__name__}.json").read_text(encoding="utf-8"))
