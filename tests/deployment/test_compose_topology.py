"""How the services of docker-compose.yml reach, wait for and outlive one another.

A URL must point at a service and port that serve it, a dependency must be able to become healthy
or complete, migrations run once before their service's processes, and each service has a database
of its own that the PostgreSQL init script creates.
"""

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from support.compose_file import (
    DOCUMENT,
    ROOT,
    SERVICES,
    Isolate,
    container_ports,
    depends_on,
    owns_a_database,
    processes,
    server_of,
)

from gateway.auth.router import JWKS_PATH as GATEWAY_JWKS_PATH

RABBITMQ_MANAGEMENT_PORT = 15672
PROMETHEUS_PORT = 9090
GRAFANA_PORT = 3000
INIT_SCRIPTS = "/docker-entrypoint-initdb.d"
MAILPIT_SMTP_PORT, MAILPIT_UI_PORT = 1025, 8025
RESTARTING = {"always", "unless-stopped", "on-failure"}
# URLs a process reads when a request needs them, not to start: the gateway's public keys.
READ_ON_REQUEST = {"AUTH_JWKS_URL"}
JWKS_PATH = "/.well-known/jwks.json"


def database_names() -> dict[str, str]:
    """Service package -> the database its processes use."""
    names: dict[str, set[str]] = {}
    for process in processes().values():
        if "DATABASE_URL" in process.environment:
            url = make_url(process.environment["DATABASE_URL"])
            names.setdefault(process.package, set()).add(str(url.database))
    assert all(len(databases) == 1 for databases in names.values()), names
    return {package: databases.pop() for package, databases in names.items()}


# === Ports ========================================================================================


def test_the_gateway_reaches_each_service_at_its_api_container_and_port(isolate: Isolate) -> None:
    [gateway] = [process for process in processes().values() if process.module == "gateway.main"]
    settings: Any = isolate(gateway)()
    upstreams: dict[str, str] = settings.upstream_urls()
    assert upstreams
    for upstream, url in upstreams.items():
        parts = urlsplit(url)
        target = processes().get(parts.hostname or "")
        assert target is not None, f"{upstream}: {url} names no service of the file"
        assert target.command[0] == "uvicorn", f"{upstream}: {target.name} serves no HTTP"
        assert target.package == upstream, f"{upstream}: {url} runs {target.module}"
        assert (parts.scheme, parts.port) == ("http", target.port), url


def test_every_service_api_fetches_the_signing_keys_from_the_gateway(isolate: Isolate) -> None:
    [gateway] = [process for process in processes().values() if process.module == "gateway.main"]
    apis = [
        process
        for process in processes().values()
        if process.command[0] == "uvicorn" and process.package != "gateway"
    ]
    assert apis
    for api in apis:
        settings: Any = isolate(api)()
        url = urlsplit(settings.AUTH_JWKS_URL)
        assert (url.scheme, url.hostname, url.port) == ("http", gateway.name, gateway.port), url
        assert url.path == JWKS_PATH


def test_the_gateway_serves_its_public_keys_where_the_services_look() -> None:
    assert GATEWAY_JWKS_PATH == JWKS_PATH


def test_the_signing_key_is_on_a_volume_the_gateway_and_its_migrations_share(
    isolate: Isolate,
) -> None:
    users = [process for process in processes().values() if process.package == "gateway"]
    assert {process.module for process in users} == {"gateway.main", "gateway.migrate"}
    for process in users:
        settings: Any = isolate(process)()
        folder = str(settings.SIGNING_KEY_FILE.parent)
        mounts = [str(volume).split(":") for volume in process.service.get("volumes", [])]
        named = [source for source, target, *_ in mounts if target == folder]
        assert named, f"{process.name}: {folder} is not a volume (the key would die with it)"
        assert named[0] in DOCUMENT.get("volumes", {}), f"{named[0]}: not a named volume"


def test_only_the_gateway_and_the_operators_uis_publish_ports() -> None:
    [gateway] = [process for process in processes().values() if process.module == "gateway.main"]
    broker = server_of("RABBITMQ_URL")
    published = {name: container_ports(service) for name, service in SERVICES.items()}
    # Not the gateway's metrics port: its public port alone.
    assert {name: ports for name, ports in published.items() if ports} == {
        gateway.name: {gateway.port},
        broker: {RABBITMQ_MANAGEMENT_PORT},
        "prometheus": {PROMETHEUS_PORT},
        "grafana": {GRAFANA_PORT},
        "mailpit": {MAILPIT_UI_PORT},  # the e-mail catcher's inbox
    }


def test_the_operators_uis_are_published_on_this_machine_only() -> None:
    broker = server_of("RABBITMQ_URL")
    for name in (broker, "prometheus", "grafana", "mailpit"):
        for entry in SERVICES[name].get("ports", []):
            assert str(entry).startswith("127.0.0.1:"), f"{name}: {entry} is reachable from afar"


def test_notification_emails_go_to_the_mailpit_catcher_of_the_file() -> None:
    """The notifications processes send over SMTP to Mailpit's SMTP port, a pinned release; its
    health is checked with its own command."""
    for process in processes().values():
        if process.package != "notifications" or process.one_shot:
            continue
        assert process.environment["EMAIL_BACKEND"] == "smtp", process.name
        assert process.environment["SMTP_HOST"] == "mailpit", process.name
        assert process.environment["SMTP_PORT"] == str(MAILPIT_SMTP_PORT), process.name
        assert process.environment["SMTP_SECURITY"] == "none", process.name  # inside the network
    mailpit = SERVICES["mailpit"]
    name, _, tag = str(mailpit["image"]).partition(":")
    assert name == "axllent/mailpit"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), "pin a release, never latest"
    assert mailpit["healthcheck"]["test"] == ["CMD", "/mailpit", "readyz"]


def test_the_broker_is_a_current_rabbitmq_with_its_management_ui() -> None:
    """RabbitMQ 4.x: quorum queues as the platform declares them (delivery limit and
    dead-lettering explicit, kit.messaging.topology), classic mirroring gone for good."""
    image = SERVICES[server_of("RABBITMQ_URL")]["image"]
    name, _, tag = image.partition(":")
    assert name == "rabbitmq"
    assert re.fullmatch(r"4\.\d+-management", tag), image


# === Start order and restarts =====================================================================


def test_every_dependency_names_a_defined_service_and_a_condition_it_can_meet() -> None:
    for name, service in SERVICES.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            target = SERVICES[dependency]
            if condition == "service_healthy":
                assert "healthcheck" in target, f"{dependency} never becomes healthy"
                assert not target["healthcheck"].get("disable"), f"{dependency}: disabled"
            elif condition == "service_completed_successfully":
                assert target.get("restart") == "no", f"{dependency} never completes"
            else:
                assert condition == "service_started", condition


def test_the_dependencies_have_no_cycle() -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for dependency in depends_on(SERVICES[name]):
                visit(dependency, (*path, name))
            done.add(name)

    for name in SERVICES:
        visit(name, ())


def test_migrations_complete_before_the_processes_of_their_service_start() -> None:
    every = processes().values()
    for package in {process.package for process in every if owns_a_database(process.package)}:
        migrations = [p for p in every if p.module == f"{package}.migrate"]
        assert len(migrations) == 1, f"{package}: one migrations service, found {migrations}"
        for process in every:
            if process.package == package and process is not migrations[0]:
                assert depends_on(process.service).get(migrations[0].name) == (
                    "service_completed_successfully"
                ), f"{process.name} may start before {migrations[0].name} has completed"


def test_each_process_waits_for_the_servers_it_connects_to() -> None:
    for process in processes().values():
        # Migrations touch the database only; the long-running processes use every URL they get,
        # except the ones only a request needs (the gateway, which waits for the services, is
        # up before any request reaches a service).
        keys = ["DATABASE_URL"] if process.one_shot else sorted(process.environment)
        for key in set(keys) - READ_ON_REQUEST:
            host = urlsplit(process.environment.get(key, "")).hostname
            if host in SERVICES:
                assert depends_on(process.service).get(host) == "service_healthy", (
                    f"{process.name} may start before {host} ({key}) is healthy"
                )


def test_migrations_run_once_and_every_other_service_restarts() -> None:
    for name, service in SERVICES.items():
        process = processes().get(name)
        if process is not None and process.module.endswith(".migrate"):
            assert service.get("restart") == "no", f'{name}: restart: "no" (quoted)'
        else:
            assert service.get("restart") in RESTARTING, f"{name}: restart policy"


# === Databases ====================================================================================


def test_each_service_owns_a_database_of_its_own_on_the_postgres_service() -> None:
    server = server_of("DATABASE_URL")
    assert str(SERVICES[server]["image"]).startswith("postgres:")
    for process in processes().values():
        if "DATABASE_URL" in process.environment:
            url = make_url(process.environment["DATABASE_URL"])
            assert url.drivername == "postgresql+asyncpg", url
            assert url.port == 5432, url
            url.get_dialect().import_dbapi()  # the driver is installed
    names = database_names()
    assert len(set(names.values())) == len(names), f"a database shared by services: {names}"


def test_the_postgres_init_script_creates_exactly_the_service_databases() -> None:
    volumes = [str(volume) for volume in SERVICES[server_of("DATABASE_URL")].get("volumes", [])]
    mounts = [volume.split(":") for volume in volumes if f":{INIT_SCRIPTS}" in volume]
    assert len(mounts) == 1, f"mount the init scripts at {INIT_SCRIPTS}"
    folder = ROOT / mounts[0][0]
    scripts = sorted(folder.glob("*.sql")) + sorted(folder.glob("*.sh"))
    assert scripts, f"no init script in {folder}"
    created = {
        name.lower()
        for script in scripts
        for name in re.findall(
            r'CREATE\s+DATABASE\s+"?(\w+)"?', script.read_text(encoding="utf-8"), re.IGNORECASE
        )
    }
    assert created == set(database_names().values())
