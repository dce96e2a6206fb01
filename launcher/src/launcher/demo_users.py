"""The demo users of the embedded run: one per role, created on first start.

Their password is the username followed by `-demo`. Their scopes are units of today's map (the
gateway accepts no other): the province officer supervises Phú Thọ (25), which took over Vĩnh Phúc
whole on 1 July 2025; the commune officer and the enumerator work in Phường Vĩnh Yên (08707), one of
the new communes the demo's households were carried across into, the one the README walks through.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.users import service as user_service
from gateway.users.models import User
from gateway.users.schemas import new_user
from kit.auth import Role
from synthetic.demo import NEW_PROVINCE, WALK_THROUGH_COMMUNE


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    units: tuple[str, ...] | None
    covers: str  # what the scope is, in words

    @property
    def password(self) -> str:
        return f"{self.username}-demo"


DEMO_USERS = (
    DemoUser("admin", Role.ADMIN, None, "whole country"),
    DemoUser("province", Role.PROVINCE_OFFICER, (NEW_PROVINCE,), "25 Tỉnh Phú Thọ"),
    DemoUser("commune", Role.COMMUNE_OFFICER, (WALK_THROUGH_COMMUNE,), "08707 Phường Vĩnh Yên"),
    DemoUser("enumerator", Role.ENUMERATOR, (WALK_THROUGH_COMMUNE,), "08707 Phường Vĩnh Yên"),
    DemoUser("analyst", Role.MINISTRY_ANALYST, None, "whole country"),
)


async def ensure_demo_users(sessionmaker: async_sessionmaker[AsyncSession]) -> list[DemoUser]:
    """Create the demo users when the gateway has no user at all; the demo users that exist."""
    async with sessionmaker() as session, session.begin():
        if not (await session.exec(select(func.count()).select_from(User))).one():
            for demo in DEMO_USERS:
                user_in = new_user.validate_python(
                    {
                        "username": demo.username,
                        "password": demo.password,
                        "role": demo.role,
                        "units": list(demo.units) if demo.units is not None else None,
                    }
                )
                # Local demo accounts with documented passwords: no policy applies.
                await user_service.create(session, user_in, passwords=None, units=None)
        names = [demo.username for demo in DEMO_USERS]
        statement = select(User.username).where(col(User.username).in_(names))
        existing = set((await session.exec(statement)).all())
    return [demo for demo in DEMO_USERS if demo.username in existing]


def login_help(users: list[DemoUser], base_url: str) -> str:
    """What to print next to "Platform ready": who may log in, and how."""
    if not users:
        return ""
    rows = "\n".join(
        f"  {demo.username:<11} {demo.password:<16} {demo.role.value:<17} {demo.covers}"
        for demo in users
    )
    return (
        f'Log in on {base_url}/docs ("Authorize") or at POST /api/v1/auth/token as a demo user:\n'
        f"  {'username':<11} {'password':<16} {'role':<17} units\n{rows}\n"
        f"  TOKEN=$(curl -s {base_url}/api/v1/auth/token -d grant_type=password "
        "-d username=admin -d password=admin-demo | python3 -c "
        "'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n"
        f'  curl -s {base_url}/api/v1/rounds -H "Authorization: Bearer $TOKEN"\n'
    )
