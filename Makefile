# Two commands for a newcomer: `make run` (the whole platform, embedded, with demo data) and
# `make test` (every test). Both install what they need: uv into .tools/, the locked packages
# into .venv/, using the machine's own Python 3.11+ (no Python is ever downloaded).

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: run test lint format services bench bench-scale faults soak clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml services/*/pyproject.toml libs/*/pyproject.toml tools/*/pyproject.toml
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	touch $@

run: .venv/.synced  ## the whole platform in one process on http://127.0.0.1:8000 (SQLite, in-process bus)
	.venv/bin/python -m launcher.embedded

test: .venv/.synced  ## every test; the infrastructure ones need PostgreSQL and RabbitMQ (skipped if absent, required under CI)
	.venv/bin/python -m pytest

lint: .venv/.synced  ## ruff and strict mypy
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: .venv/.synced
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

services: .venv/.synced  ## the distributed processes natively, against local PostgreSQL and RabbitMQ
	.venv/bin/python -m launcher.distributed

bench: .venv/.synced  ## the benchmark suite on the distributed processes (~4 min); table in docs/benchmarks.md
	.venv/bin/python -m bench --docs docs/benchmarks.md

# HOUSEHOLDS=… and BACKLOG=… run it smaller (while developing); the size targets are judged only
# at their sizes, a smaller run reports its own N.
bench-scale: .venv/.synced  ## P4 at a 100,000-event backlog, P6–P8 at 1,000,000 households (~18 min); table in docs/benchmarks.md
	.venv/bin/python -m bench --scale --docs docs/benchmarks.md \
		$(if $(HOUSEHOLDS),--households $(HOUSEHOLDS)) $(if $(BACKLOG),--backlog $(BACKLOG))

faults: .venv/.synced  ## the fault matrix on throwaway PostgreSQL and RabbitMQ (docs/reliability.md); RUNS=20
	.venv/bin/python -m tests.faults --runs $(or $(RUNS),20)

soak: .venv/.synced  ## 30 minutes of mixed load with periodic faults; memory and connections per process
	.venv/bin/python -m tests.faults.soak --minutes $(or $(MINUTES),30)

clean:
	rm -rf .venv .tools data .pytest_cache .mypy_cache .ruff_cache
