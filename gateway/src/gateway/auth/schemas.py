from typing import Literal

from pydantic import BaseModel, Field

from kit.auth import Permission, Role


class TokenResponse(BaseModel):
    """RFC 6749 section 5.1: an access token, and the refresh token that replaces it."""

    access_token: str = Field(
        description="A signed JWT for `Authorization: Bearer`; lasts `expires_in` seconds."
    )
    token_type: Literal["bearer"] = Field(default="bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(
        description="Spend it at this endpoint (grant_type=refresh_token) for a new pair; each "
        "refresh token works once."
    )


class Me(BaseModel):
    subject: str = Field(description="`user:<username>` or `api-key:<id>`.")
    role: Role = Field(description="The caller's role.")
    units: list[str] | None = Field(description="Unit codes of the scope; null: whole country.")
    permissions: list[Permission] = Field(description="Everything the role may do.")
