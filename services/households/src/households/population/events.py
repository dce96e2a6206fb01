"""Builds the event the households service publishes about a commune's resident population."""

from households.population.models import UnitPopulation
from households.unit import service as unit_service
from households.unit.models import AdminUnit
from kit.contracts import Envelope
from kit.contracts.households import PopulationRecordedV1
from kit.logging import current_actor, current_request_id

PRODUCER = "households"


def population_recorded(population: UnitPopulation, commune: AdminUnit) -> Envelope:
    """The commune's resident households and persons in the round, as recorded."""
    assert commune.area is not None  # every commune has an area
    event = PopulationRecordedV1(
        round_id=population.round_id,
        unit_code=population.unit_code,
        unit_path=unit_service.path_codes(commune),
        area=commune.area,
        resident_households=population.resident_households,
        resident_persons=population.resident_persons,
    )
    return Envelope.wrap(
        event,
        producer=PRODUCER,
        subject=f"population:{population.round_id}:{population.unit_code}",
        sequence=population.version,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )
