"""The platform's API description: the merged OpenAPI document and a Swagger UI page for it."""

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from gateway import openapi
from gateway.state import OpenApiDep, SettingsDep, UpstreamsDep

OPENAPI_URL = "/openapi.json"
# The Swagger UI's assets are served by the gateway itself (from the `fastapi-offline` package),
# so the page works without internet access; its one inline script is allowed by its hash, so
# that no other inline script could run on the page.
ASSETS_URL = "/docs/assets"
assets = StaticFiles(directory=str(files("fastapi_offline") / "static"))

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
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        swagger_ui_parameters={"persistAuthorization": True},
    )
    scripts = re.findall(rb"<script>(.*?)</script>", page.body, flags=re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in scripts
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )
    return page


@router.get("/docs")
async def get_docs() -> HTMLResponse:
    """Swagger UI for the merged OpenAPI document; "Authorize" logs in with a password."""
    return docs_page()
