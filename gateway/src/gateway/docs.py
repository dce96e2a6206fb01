"""The platform's API description: the merged OpenAPI document and a Swagger UI page for it."""

import base64
import hashlib
import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway import openapi
from gateway.state import OpenApiDep, SettingsDep, UpstreamsDep

OPENAPI_URL = "/openapi.json"
# The Swagger UI's assets come from FastAPI's default CDN; its one inline script is allowed by
# its hash, so that no other inline script could run on the page.
_CDN = "https://cdn.jsdelivr.net"
_FAVICON = "https://fastapi.tiangolo.com"

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


def docs_page() -> HTMLResponse:
    # persistAuthorization: a page reload keeps the login of the "Authorize" dialog.
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=openapi.TITLE,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    scripts = re.findall(rb"<script>(.*?)</script>", page.body, flags=re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in scripts
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {_CDN} {hashes}; style-src {_CDN} 'unsafe-inline'; "
        f"img-src 'self' data: {_FAVICON}; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )
    return page


@router.get("/docs")
async def get_docs() -> HTMLResponse:
    """Swagger UI for the merged OpenAPI document; "Authorize" logs in with a password."""
    return docs_page()
