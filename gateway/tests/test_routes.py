import pytest

from gateway.routes import ROUTES, UPSTREAMS, upstream_for


def test_every_route_names_a_known_upstream() -> None:
    assert set(ROUTES.values()) == set(UPSTREAMS)


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/api/v1/units", "households"),
        ("/api/v1/units/", "households"),
        ("/api/v1/units/79/children", "households"),
        ("/api/v1/admin/households/outbox", "households"),
        ("/api/v1/figures/2025/provinces", "indicators"),
        ("/api/v1/admin/indicators", "indicators"),
        ("/api/v1/notifications/n-1/read", "notifications"),
    ],
)
def test_a_path_belongs_to_the_upstream_owning_its_prefix(path: str, upstream: str) -> None:
    assert upstream_for(path) == upstream


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/unitsX",
        "/api/v1/units-archive",
        "/api/v1/admin",
        "/api/v1/admin/householdsX",
        "/api/v2/units",
        "/units",
        "/api/v1/units/../../admin/indicators",
        "/api/v1/units/./1",
    ],
)
def test_a_path_matching_no_prefix_by_whole_segments_has_no_upstream(path: str) -> None:
    assert upstream_for(path) is None
