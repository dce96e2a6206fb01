"""The platform's API description: the merged OpenAPI document and a Swagger UI page for it."""

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway import openapi
from gateway.state import OpenApiDep, SettingsDep, UpstreamsDep

OPENAPI_URL = "/openapi.json"

router = APIRouter(include_in_schema=False)


@router.get(OPENAPI_URL)
async def get_openapi_document(
    request: Request, settings: SettingsDep, upstreams: UpstreamsDep, cached: OpenApiDep
) -> JSONResponse:
    """The OpenAPI document of every service behind the gateway, merged into one."""
    app: FastAPI = request.app

    async def build() -> openapi.JsonObject:
        documents, missing = await openapi.fetch_documents(
            upstreams, seconds=settings.OPENAPI_TIMEOUT_SECONDS
        )
        return openapi.merge(
            app.openapi(), documents, version=settings.API_VERSION, missing=missing
        )

    return JSONResponse(await cached.get(build))


@router.get("/docs")
async def get_docs() -> HTMLResponse:
    """Swagger UI for the merged OpenAPI document."""
    return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=openapi.TITLE)
