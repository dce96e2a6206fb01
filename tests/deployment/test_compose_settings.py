"""The settings docker-compose.yml gives each process, and the credentials in them.

A variable must be a setting of the process that reads it (pydantic-settings ignores unknown ones
silently), every setting a deployed process needs must be set by the file rather than left to its
embedded-run default, and the passwords come from .env, never from the file.
"""

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from support.compose_file import (
    BUILT,
    DOCUMENT,
    ENV_EXAMPLE,
    SERVICES,
    Isolate,
    environment_of,
    owns_a_database,
    processes,
    read_env_file,
    referenced_variables,
    server_of,
    settings_class,
    variable_sets,
)

# Settings every process must get from the file rather than from its embedded-run default.
DEPLOYMENT_SETTINGS = {"SERVICE_NAME", "ENVIRONMENT", "LOG_JSON"}
# ...and every process of a service that owns a database (one with a `migrate` module): its
# database and its broker (the gateway's relay publishes changes of access).
SERVICE_SETTINGS = {"DATABASE_URL", "MESSAGE_BUS", "RABBITMQ_URL"}


@pytest.mark.parametrize("name", BUILT)
def test_every_variable_a_service_sets_is_a_setting_of_its_process(name: str) -> None:
    process = processes()[name]
    fields = settings_class(process).model_fields
    unknown = sorted(set(process.environment) - set(fields))
    assert not unknown, f"{name}: {unknown} are not settings of {process.package}.config.Settings"


@pytest.mark.parametrize("name", BUILT)
def test_every_setting_a_process_needs_is_set(name: str) -> None:
    process = processes()[name]
    fields = settings_class(process).model_fields
    required = {field for field, info in fields.items() if info.is_required()}
    needed = required | DEPLOYMENT_SETTINGS
    if owns_a_database(process.package):
        needed |= SERVICE_SETTINGS & fields.keys()
    missing = sorted(needed - set(process.environment))
    assert not missing, f"{name} leaves {missing} to their embedded-run defaults (or unset)"


@pytest.mark.parametrize("variable_set", ["env-example", "required-only"])
@pytest.mark.parametrize("name", BUILT)
def test_each_process_reads_valid_production_settings(
    name: str, variable_set: str, isolate: Isolate
) -> None:
    process = processes(variable_set)[name]
    settings: Any = isolate(process)()
    assert settings.SERVICE_NAME == process.package
    assert settings.ENVIRONMENT == "production"
    assert settings.LOG_JSON is True
    if owns_a_database(process.package) and hasattr(settings, "MESSAGE_BUS"):
        # Separate containers share no memory: an in-process bus would drop every event.
        assert settings.MESSAGE_BUS == "rabbitmq"


@pytest.mark.parametrize("variable_set", ["env-example", "required-only", "distinct-credentials"])
def test_processes_log_in_with_the_credentials_the_servers_are_given(variable_set: str) -> None:
    variables = variable_sets()[variable_set]
    postgres = environment_of(SERVICES[server_of("DATABASE_URL")], variables)
    rabbitmq = environment_of(SERVICES[server_of("RABBITMQ_URL")], variables)
    for process in processes(variable_set).values():
        if "DATABASE_URL" in process.environment:
            url = urlsplit(process.environment["DATABASE_URL"])
            assert url.username == postgres.get("POSTGRES_USER", "postgres")
            assert url.password == postgres["POSTGRES_PASSWORD"]
        if "RABBITMQ_URL" in process.environment:
            url = urlsplit(process.environment["RABBITMQ_URL"])
            assert url.username == rabbitmq.get("RABBITMQ_DEFAULT_USER", "guest")
            assert url.password == rabbitmq.get("RABBITMQ_DEFAULT_PASS", "guest")
            assert url.path in ("", "/"), "the default virtual host"


def test_passwords_are_required_variables_never_values_written_in_the_file() -> None:
    required = re.compile(r"\$\{\w+:\?[^}]*\}")
    for name, service in SERVICES.items():
        raw = service.get("environment") or {}
        for key, value in raw.items():
            if "PASS" in key:
                assert required.fullmatch(str(value)), f"{name}.{key}: use ${{VAR:?message}}"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", str(value)):
                assert required.fullmatch(password), f"{name}.{key}: password in the URL"


def test_env_example_sets_every_variable_the_file_requires_and_no_other() -> None:
    example = read_env_file(ENV_EXAMPLE)
    referenced = referenced_variables(DOCUMENT)
    required = {name for name, is_required in referenced.items() if is_required}
    assert required <= example.keys(), f"missing from .env.example: {required - example.keys()}"
    assert example.keys() <= referenced.keys(), f"unused: {example.keys() - referenced.keys()}"
