"""The households service: administrative units, review rounds, households and their surveys.

Run with `uvicorn households.main:create_app --factory`.
"""

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from households.audit.router import router as audit_router
from households.config import Settings
from households.conflict.router import router as conflict_router
from households.db import idempotency_keys, token_not_before
from households.digital_team.router import router as digital_team_router
from households.household.router import router as household_router
from households.imports.router import router as import_router
from households.population.router import router as population_router
from households.reconciliation.router import router as reconciliation_router
from households.relocation.router import router as relocation_router
from households.review.router import router as review_router
from households.round.router import router as round_router
from households.support.router import router as support_router
from households.unit.router import router as unit_router
from kit.auth import KeySource
from kit.messaging import MessageBus
from kit.service import create_service_app


def create_app(
    settings: Settings | None = None,
    *,
    bus: MessageBus | None = None,
    engine: AsyncEngine | None = None,
    token_keys: KeySource | None = None,
) -> FastAPI:
    return create_service_app(
        title="Households",
        description="Registry and survey data entry for the poverty review; digital teams and the "
        "support they give households.",
        settings=settings or Settings(),
        routers=[
            unit_router,
            round_router,
            review_router,
            relocation_router,  # before the households router, whose paths it shares
            household_router,
            digital_team_router,
            support_router,
            population_router,
            audit_router,
            conflict_router,
            import_router,
            reconciliation_router,
        ],
        bus=bus,
        engine=engine,
        token_keys=token_keys,
        token_not_before=token_not_before,
        idempotency_keys=idempotency_keys,
    )
