"""The indicators service: standards, classification, unit figures and recalculation.

Run with `uvicorn indicators.main:create_app --factory`.
"""

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from indicators.alkire_foster.router import router as alkire_foster_router
from indicators.classification.router import router as classification_router
from indicators.config import Settings
from indicators.db import token_not_before
from indicators.figures.router import router as figures_router
from indicators.recalculation.router import router as recalculation_router
from indicators.reconciliation.router import router as reconciliation_router
from indicators.standard.router import router as standard_router
from indicators.targets.router import router as targets_router
from indicators.transitions.router import router as transitions_router
from indicators.what_if.router import router as what_if_router
from kit.auth import KeySource
from kit.messaging import MessageBus
from kit.messaging.topology import INDICATORS_QUEUE
from kit.service import create_service_app


def create_app(
    settings: Settings | None = None,
    *,
    bus: MessageBus | None = None,
    engine: AsyncEngine | None = None,
    token_keys: KeySource | None = None,
    households: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The app; `households` replaces the network to the households service (embedded)."""
    app = create_service_app(
        title="Indicators",
        description="Poverty standards, household classification and unit figures.",
        settings=settings or Settings(),
        routers=[
            standard_router,
            figures_router,
            classification_router,
            recalculation_router,
            reconciliation_router,
            transitions_router,
            alkire_foster_router,
            targets_router,
            what_if_router,
        ],
        bus=bus,
        engine=engine,
        token_keys=token_keys,
        token_not_before=token_not_before,
        dead_letter_queue=INDICATORS_QUEUE,
    )
    app.state.households_transport = households
    return app
