"""The routing table: which service owns which public path.

Services serve the same paths as the gateway, so forwarding never rewrites a path.
"""

from collections.abc import Mapping

UPSTREAMS = ("households", "indicators", "notifications")
# Bulk imports: the one path with a larger request body limit (MAX_IMPORT_BODY_BYTES).
IMPORTS_PREFIX = "/api/v1/imports"

ROUTES: Mapping[str, str] = {
    "/api/v1/units": "households",
    "/api/v1/rounds": "households",
    # A commune's digital teams and the support recorded in it (docs/digital-inclusion.md).
    "/api/v1/communes": "households",
    "/api/v1/households": "households",
    "/api/v1/assessments": "households",
    "/api/v1/populations": "households",
    "/api/v1/audit": "households",
    IMPORTS_PREFIX: "households",
    "/api/v1/admin/households": "households",
    "/api/v1/standards": "indicators",
    "/api/v1/figures": "indicators",
    "/api/v1/classifications": "indicators",
    "/api/v1/recalculations": "indicators",
    "/api/v1/reports": "indicators",
    "/api/v1/information": "indicators",
    "/api/v1/admin/indicators": "indicators",
    "/api/v1/transitions": "indicators",
    "/api/v1/targets": "indicators",
    "/api/v1/context-series": "indicators",
    "/api/v1/alkire-foster": "indicators",
    "/api/v1/what-if": "indicators",
    "/api/v1/left-behind": "indicators",
    "/api/v1/support-outcomes": "indicators",
    "/api/v1/notifications": "notifications",
    "/api/v1/subscriptions": "notifications",
    "/api/v1/inbox": "notifications",
    "/api/v1/unsubscribe": "notifications",
    "/api/v1/admin/notifications": "notifications",
}

# Paths forwarded without an access token: the service itself decides who may (the unsubscribe
# links of e-mails carry a signed token of their own).
PUBLIC_PATHS = ("/api/v1/unsubscribe",)

# Longest first, so that a nested prefix would win over its parent if one is ever added.
_BY_LENGTH = sorted(ROUTES.items(), key=lambda route: len(route[0]), reverse=True)


def upstream_for(path: str) -> str | None:
    """The upstream that owns `path` (matched by whole segments), or None."""
    # httpx removes dot segments before sending, so `/api/v1/units/../admin/indicators` would
    # reach a service other than the one matched here; such paths are never routed.
    if any(segment in {".", ".."} for segment in path.split("/")):
        return None
    for prefix, upstream in _BY_LENGTH:
        if path == prefix or path.startswith(prefix + "/"):
            return upstream
    return None
