"""The indicators service: standards, classification, unit figures and recalculation.

Run with `uvicorn indicators.main:create_app --factory`.
"""

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from indicators.alkire_foster.router import router as alkire_foster_router
from indicators.classification.router import router as classification_router
from indicators.config import Settings
from indicators.context.router import router as context_router
from indicators.db import idempotency_keys, token_not_before
from indicators.figures.router import router as figures_router
from indicators.information.router import router as information_router
from indicators.left_behind.router import router as left_behind_router
from indicators.recalculation.router import router as recalculation_router
from indicators.reconciliation.router import router as reconciliation_router
from indicators.reports.router import router as reports_router
from indicators.standard.enum_notes import enum_notes
from indicators.standard.router import router as standard_router
from indicators.standard.service import list_standards
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
            information_router,
            context_router,
            reports_router,
            classification_router,
            recalculation_router,
            reconciliation_router,
            transitions_router,
            alkire_foster_router,
            targets_router,
            what_if_router,
            left_behind_router,
        ],
        bus=bus,
        engine=engine,
        token_keys=token_keys,
        token_not_before=token_not_before,
        idempotency_keys=idempotency_keys,
        dead_letter_queue=INDICATORS_QUEUE,
    )
    app.state.households_transport = households
    _publish_enum_notes(app)
    return app


def _publish_enum_notes(app: FastAPI) -> None:
    """Give the gateway, in `x-enum-notes`, which values of the survey's enums each standard puts
    where; it adds them to those enums' descriptions in the merged document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        document["x-enum-notes"] = enum_notes(list_standards())
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to extend the document
