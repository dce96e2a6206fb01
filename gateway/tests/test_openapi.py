import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.openapi import merge

Json = dict[str, Any]

VALIDATION_ERROR: Json = {"type": "object", "properties": {"detail": {"type": "array"}}}


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def returning(schema: Json) -> Json:
    response = {"content": {"application/json": {"schema": schema}}}
    return {"get": {"responses": {"200": response}}}


def document(paths: Json, schemas: Json) -> Json:
    return {
        "openapi": "3.1.0",
        "info": {"title": "a service", "version": "0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def page_of(item: str) -> Json:
    return {"type": "object", "properties": {"items": {"type": "array", "items": ref(item)}}}


HOUSEHOLDS = document(
    {
        "/api/v1/households": returning(ref("Page")),
        "/api/v1/households/{household_id}": returning(ref("Household")),
        "/health/ready": returning({"type": "object"}),
        # Served by households but routed to indicators: not part of the public API.
        "/api/v1/standards": returning({"type": "string"}),
    },
    {
        "Page": page_of("Household"),
        "Household": {"type": "object", "properties": {"ma_ho": {"type": "string"}}},
        "HTTPValidationError": VALIDATION_ERROR,
    },
)
INDICATORS = document(
    {"/api/v1/standards": returning(ref("Page"))},
    {
        "Page": page_of("Standard"),
        "Standard": {"type": "object", "properties": {"code": {"type": "string"}}},
        "HTTPValidationError": VALIDATION_ERROR,
    },
)
NOTIFICATIONS = document(
    {"/api/v1/notifications": returning(ref("Notification"))},
    {
        "Notification": {"type": "object", "properties": {"subject": {"type": "string"}}},
        "HTTPValidationError": VALIDATION_ERROR,
    },
)


def serving(
    doc: Json, fetches: list[str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """An upstream that serves `doc` at /openapi.json."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/openapi.json"
        if fetches is not None:
            fetches.append(str(request.url))
        return httpx.Response(200, json=doc)

    return handler


def schema_of(merged: Json, path: str) -> Json:
    response: Json = merged["paths"][path]["get"]["responses"]["200"]
    schema: Json = response["content"]["application/json"]["schema"]
    return schema


# The gateway's own routes: logging in and managing users and API keys.
GATEWAY_PATHS = {
    "/.well-known/jwks.json",
    "/api/v1/auth/token",
    "/api/v1/auth/revoke",
    "/api/v1/auth/me",
    "/api/v1/admin/users",
    "/api/v1/admin/users/{user_id}",
    "/api/v1/admin/api-keys",
    "/api/v1/admin/api-keys/{key_id}",
    "/api/v1/admin/api-keys/{key_id}/revoke",
}


class TestMergedDocument:
    async def test_contains_the_paths_of_every_service_and_the_gateways_health(self, serve) -> None:
        async with serve(
            households=serving(HOUSEHOLDS),
            indicators=serving(INDICATORS),
            notifications=serving(NOTIFICATIONS),
        ) as client:
            response = await client.get("/openapi.json")

        assert response.status_code == 200
        merged = response.json()
        assert merged["info"]["title"] == "Poverty review platform API"
        assert merged["info"]["version"] == "0.1.0"
        assert "x-missing-upstreams" not in merged["info"]
        assert set(merged["paths"]) == {
            "/health",
            "/health/live",
            "/api/v1/households",
            "/api/v1/households/{household_id}",
            "/api/v1/standards",
            "/api/v1/notifications",
            *GATEWAY_PATHS,
        }
        assert "HealthReport" in merged["components"]["schemas"]

    async def test_keeps_a_path_only_from_the_service_the_gateway_routes_it_to(self, serve) -> None:
        async with serve(
            households=serving(HOUSEHOLDS),
            indicators=serving(INDICATORS),
            notifications=serving(NOTIFICATIONS),
        ) as client:
            merged = (await client.get("/openapi.json")).json()

        assert schema_of(merged, "/api/v1/standards") == ref("indicators_Page")

    async def test_shares_identical_schemas_and_prefixes_conflicting_ones(self, serve) -> None:
        async with serve(
            households=serving(HOUSEHOLDS),
            indicators=serving(INDICATORS),
            notifications=serving(NOTIFICATIONS),
        ) as client:
            merged = (await client.get("/openapi.json")).json()

        schemas = merged["components"]["schemas"]
        assert schemas["HTTPValidationError"] == VALIDATION_ERROR
        assert "Page" not in schemas
        assert schemas["households_Page"] == page_of("Household")
        assert schemas["indicators_Page"] == page_of("Standard")
        assert schema_of(merged, "/api/v1/households") == ref("households_Page")
        assert not any(name.endswith("_HTTPValidationError") for name in schemas)

    async def test_is_still_served_when_a_service_is_down_and_says_which(self, serve) -> None:
        async with serve(households=serving(HOUSEHOLDS), indicators=serving(INDICATORS)) as client:
            response = await client.get("/openapi.json")

        assert response.status_code == 200
        merged = response.json()
        assert merged["info"]["x-missing-upstreams"] == ["notifications"]
        assert "/api/v1/households" in merged["paths"]
        assert "/api/v1/notifications" not in merged["paths"]
        # With notifications absent the others still conflict over Page.
        assert "households_Page" in merged["components"]["schemas"]

    @pytest.mark.parametrize(
        "broken",
        [
            httpx.Response(500, json={"status": 500}),
            httpx.Response(200, content=b"<html>not json</html>"),
            httpx.Response(200, json=["not", "a", "document"]),
        ],
        ids=["error-status", "not-json", "not-a-document"],
    )
    async def test_a_service_answering_nonsense_counts_as_missing(
        self, serve, broken: httpx.Response
    ) -> None:
        async with serve(
            households=serving(HOUSEHOLDS),
            indicators=lambda request: broken,
            notifications=serving(NOTIFICATIONS),
        ) as client:
            response = await client.get("/openapi.json")

        assert response.status_code == 200
        assert response.json()["info"]["x-missing-upstreams"] == ["indicators"]

    async def test_is_cached_between_requests(self, serve) -> None:
        fetches: list[str] = []

        async with serve(
            households=serving(HOUSEHOLDS, fetches),
            indicators=serving(INDICATORS, fetches),
            notifications=serving(NOTIFICATIONS, fetches),
        ) as client:
            first = await client.get("/openapi.json")
            second = await client.get("/openapi.json")

        assert first.json() == second.json()
        assert len(fetches) == 3

    async def test_is_rebuilt_once_its_time_to_live_has_passed(
        self, serve, settings: Settings
    ) -> None:
        fetches: list[str] = []
        uncached = settings.model_copy(update={"OPENAPI_CACHE_SECONDS": 0})

        async with serve(uncached, households=serving(HOUSEHOLDS, fetches)) as client:
            await client.get("/openapi.json")
            await client.get("/openapi.json")

        assert len(fetches) == 2


class TestMerge:
    def test_a_schema_referring_to_a_renamed_schema_is_renamed_too(self) -> None:
        # Both Pages read the same, but each refers to its own, different, Item.
        households = document(
            {"/api/v1/households": returning(ref("Page"))},
            {"Page": page_of("Item"), "Item": {"type": "string"}},
        )
        indicators = document(
            {"/api/v1/figures": returning(ref("Page"))},
            {"Page": page_of("Item"), "Item": {"type": "integer"}},
        )

        merged = merge(
            document({}, {}), {"households": households, "indicators": indicators}, version="1"
        )

        assert merged["components"]["schemas"] == {
            "households_Page": page_of("households_Item"),
            "households_Item": {"type": "string"},
            "indicators_Page": page_of("indicators_Item"),
            "indicators_Item": {"type": "integer"},
        }
        assert schema_of(merged, "/api/v1/figures") == ref("indicators_Page")

    def test_same_named_security_schemes_are_one_scheme(self) -> None:
        bearer = {"type": "http", "scheme": "bearer"}
        households = {
            "paths": {},
            "components": {"securitySchemes": {"HTTPBearer": bearer}},
        }
        notifications = {
            "paths": {},
            "components": {"securitySchemes": {"HTTPBearer": {**bearer, "description": "x"}}},
        }

        merged = merge(
            document({}, {}),
            {"households": households, "notifications": notifications},
            version="1",
        )

        assert merged["components"]["securitySchemes"] == {"HTTPBearer": bearer}


async def test_the_docs_page_is_swagger_ui_for_the_merged_document(serve) -> None:
    async with serve() as client:
        response = await client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "'/openapi.json'" in response.text or '"/openapi.json"' in response.text


async def test_the_docs_page_assets_are_served_by_the_gateway(serve) -> None:
    async with serve() as client:
        page = (await client.get("/docs")).text
        assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page)
        answers = [await client.get(asset) for asset in assets]

    assert {asset.rsplit("/", 1)[1] for asset in assets} == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon.png",
    }
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "SwaggerUIBundle" in answers[[a.endswith(".js") for a in assets].index(True)].text


SECURED: Json = {"get": {"security": [{"HTTPBearer": []}], "responses": {}}}
PUBLIC: Json = {"get": {"responses": {}}}


class TestSecurity:
    def test_every_operation_needing_a_caller_offers_every_credential(self) -> None:
        households = {
            "paths": {"/api/v1/households": SECURED, "/api/v1/units": PUBLIC},
            "components": {"securitySchemes": {"HTTPBearer": {"type": "http"}}},
        }

        merged = merge(document({}, {}), {"households": households}, version="1")

        schemes = merged["components"]["securitySchemes"]
        assert next(iter(schemes)) == "OAuth2Password"  # the log-in form tops the dialog
        assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
        assert schemes["APIKeyHeader"] == {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": schemes["APIKeyHeader"]["description"],
        }
        assert schemes["HTTPBearer"]["scheme"] == "bearer"
        assert merged["paths"]["/api/v1/households"]["get"]["security"] == [
            {"OAuth2Password": []},
            {"HTTPBearer": []},
            {"APIKeyHeader": []},
        ]
        assert "security" not in merged["paths"]["/api/v1/units"]["get"]

    async def test_the_gateways_own_routes_are_secured_except_logging_in(self, serve) -> None:
        async with serve() as client:
            merged = (await client.get("/openapi.json")).json()

        def secured(path: str, method: str) -> bool:
            return bool(merged["paths"][path][method].get("security"))

        assert secured("/api/v1/admin/users", "post")
        assert secured("/api/v1/admin/api-keys/{key_id}/revoke", "post")
        assert secured("/api/v1/auth/me", "get")
        assert not secured("/api/v1/auth/token", "post")
        assert not secured("/.well-known/jwks.json", "get")
        form = merged["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
        assert "application/x-www-form-urlencoded" in form


class TestGatewayAnswers:
    def test_every_api_operation_declares_the_gateways_own_refusals(self) -> None:
        problem = {"type": "object"}
        households = document(
            {
                "/api/v1/households": {
                    "get": {"responses": {}},
                    "post": {"requestBody": {"content": {}}, "responses": {}},
                }
            },
            {"Problem": problem},
        )
        own = document({"/api/v1/auth/me": {"get": {"responses": {}}}, "/health": PUBLIC}, {})

        merged = merge(own, {"households": households}, version="1")

        paths = merged["paths"]
        assert set(paths["/api/v1/households"]["get"]["responses"]) == {"429", "502", "504"}
        assert set(paths["/api/v1/households"]["post"]["responses"]) == {"413", "429", "502", "504"}
        assert set(paths["/api/v1/auth/me"]["get"]["responses"]) == {"429"}
        assert paths["/health"]["get"]["responses"] == {}
        limited = paths["/api/v1/households"]["get"]["responses"]["429"]
        assert limited["content"]["application/problem+json"]["schema"] == ref("Problem")
