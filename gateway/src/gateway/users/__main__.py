"""`python -m gateway.users create --username U --role R --units 26,243`: a user from the shell.

`python -m gateway.users migrate-scopes [--apply]`: the users and API keys whose scope names a
unit no longer in force, each code replaced where that is exact and refused otherwise, naming the
units to choose from (`gateway.scope_migration`); without `--apply` nothing is written. It asks
the households service at HOUSEHOLDS_URL, with a token of the gateway's SIGNING_KEY_FILE.

For the first admin where no FIRST_ADMIN_* is configured, or for any user when the API is not
reachable. The password is asked for twice on a terminal, or read as one line from stdin
(`... < password.txt`); it never appears on the command line. DATABASE_URL names the gateway's
database, as for every gateway process. The password policy applies as in the API; that the units
exist is not checked (the households service that knows them may be down), so give codes in force.
"""

import argparse
import asyncio
import getpass
import sys

import httpx
from pydantic import ValidationError

from gateway.auth.issuer import TokenIssuer, load_signing_key
from gateway.config import Settings
from gateway.passwords import PasswordPolicy
from gateway.scope_migration import migrate
from gateway.units import UnitDirectory
from gateway.users import service as user_service
from gateway.users.schemas import UserCreate, new_user
from kit.auth import Role
from kit.db import make_engine, make_sessionmaker, utc_now
from kit.errors import ServiceError


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise SystemExit("error: the passwords differ")
    return password


async def create(settings: Settings, user_in: UserCreate) -> str:
    engine = make_engine(settings.DATABASE_URL)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            # The units' existence is left out: this command works when no service is up.
            user = await user_service.create(
                session,
                user_in,
                passwords=PasswordPolicy(settings.PASSWORD_MIN_LENGTH),
                units=None,
            )
            return f"created {user.username} ({user.role}, units {user.unit_scope or 'all'})"
    finally:
        await engine.dispose()


async def migrate_scopes(settings: Settings, *, apply: bool) -> str:
    engine = make_engine(settings.DATABASE_URL)
    issuer = TokenIssuer(load_signing_key(settings.SIGNING_KEY_FILE), settings)
    try:
        async with (
            httpx.AsyncClient(base_url=settings.HOUSEHOLDS_URL) as households,
            make_sessionmaker(engine)() as session,
            session.begin(),
        ):
            lookup = UnitDirectory(households, issuer)
            lines = await migrate(session, lookup, on=utc_now().date(), apply=apply)
    finally:
        await engine.dispose()
    return "\n".join(lines) or "every scope names units in force"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.users", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    creating = commands.add_parser("create", help="create a user")
    creating.add_argument("--username", required=True)
    creating.add_argument("--role", required=True, choices=[role.value for role in Role])
    creating.add_argument(
        "--units",
        default=None,
        help="comma-separated unit codes (26,243,08707); leave out for the whole country "
        "(admin and ministry_analyst only)",
    )
    migrating = commands.add_parser(
        "migrate-scopes", help="carry scopes in old unit codes onto the map in force"
    )
    migrating.add_argument("--apply", action="store_true", help="write the exact replacements")
    arguments = parser.parse_args(argv)
    if arguments.command == "migrate-scopes":
        print(asyncio.run(migrate_scopes(Settings(), apply=arguments.apply)))  # noqa: T201
        return
    units = arguments.units.split(",") if arguments.units else None
    try:
        user_in = new_user.validate_python(
            {
                "username": arguments.username,
                "password": read_password(),
                "role": arguments.role,
                "units": units,
            }
        )
        print(asyncio.run(create(Settings(), user_in)))  # noqa: T201 - a command's answer
    except ValidationError as error:
        raise SystemExit(f"error: {error}") from None
    except ServiceError as error:
        messages = [error.detail, *(f"{e.loc[-1]}: {e.msg}" for e in error.errors)]
        raise SystemExit(f"error: {'; '.join(dict.fromkeys(messages))}") from None


if __name__ == "__main__":
    main()
