"""The resident population of communes: the denominators of every rate."""

from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import service as figures_service
from indicators.figures.counts import Counts, Tally, difference, population_counts
from indicators.figures.models import PopulationCopy
from kit.contracts import Envelope
from kit.contracts.households import PopulationRecordedV1


async def record(session: AsyncSession, envelope: Envelope, event: PopulationRecordedV1) -> None:
    """Keep the newest population of the commune and move its units' denominators with it."""
    copy = await session.get(
        PopulationCopy, (event.round_id, event.unit_code), with_for_update=True
    )
    if copy is not None and copy.sequence >= envelope.sequence:
        return  # a late, older fact
    old = _counts(PopulationRecordedV1.model_validate(copy.facts)) if copy else Tally()
    if copy is None:
        session.add(
            PopulationCopy(
                round_id=event.round_id,
                unit_code=event.unit_code,
                sequence=envelope.sequence,
                facts=envelope.data,
            )
        )
    else:
        copy.sequence, copy.facts = envelope.sequence, envelope.data
    await figures_service.remember_units(session, [(event.round_id, event.unit_path)])
    await figures_service.apply(
        session, event.round_id, event.unit_path, difference(_counts(event), old)
    )


def _counts(event: PopulationRecordedV1) -> Counts:
    return population_counts(
        area=event.area,
        resident_households=event.resident_households,
        resident_persons=event.resident_persons,
    )
