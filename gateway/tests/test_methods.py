"""A method the gateway does not serve on one of its own paths: 405 naming those it does."""

import pytest


class TestOwnPaths:
    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            ("PUT", "/api/v1/auth/token", "POST"),
            ("DELETE", "/api/v1/admin/users", "GET, POST"),
            ("PUT", "/api/v1/admin/users/some-id", "GET, PATCH"),
        ],
    )
    async def test_answers_405_with_allow_before_asking_for_a_token(
        self, serve, method: str, path: str, allowed: str
    ) -> None:
        async with serve(headers={}) as client:
            response = await client.request(method, path)

        assert response.status_code == 405
        assert response.headers["allow"] == allowed
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_path_nobody_serves_is_still_404(self, serve) -> None:
        async with serve(headers={}) as client:
            response = await client.put("/api/v1/nowhere")

        assert response.status_code == 404
