import pytest

from gateway.config import Settings


def test_the_environment_names_where_each_service_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICE_NAME", raising=False)
    monkeypatch.setenv("HOUSEHOLDS_URL", "http://households-api:8000")
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT_SECONDS", "12.5")

    settings = Settings()

    assert settings.upstream_urls()["households"] == "http://households-api:8000"
    assert settings.UPSTREAM_READ_TIMEOUT_SECONDS == 12.5
    assert settings.SERVICE_NAME == "gateway"
