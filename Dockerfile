# syntax=docker/dockerfile:1
# The image of any one deployable member of the uv workspace: a service (households, indicators,
# notifications) or the gateway. Two build args say which; neither has a default.
#
#   PACKAGE      the workspace member to install, by its project name: households
#   PACKAGE_DIR  its folder, relative to the repository root: services/households
#
# docker-compose.yml builds one image per member this way, and every process of that member (API,
# outbox relay, worker, migrations) runs from it with its own command. By hand, from the root:
#
#   docker build --build-arg PACKAGE=households --build-arg PACKAGE_DIR=services/households \
#     -t poverty-review/households:local .

FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
RUN pip install --no-cache-dir --disable-pip-version-check uv==0.13.8
WORKDIR /app

# Declared after the uv install on purpose: every RUN after an ARG sees it, so a different value
# would otherwise rebuild that layer too; as it is, all the images share it.
ARG PACKAGE
ARG PACKAGE_DIR
# Without them the steps below would fail later and less clearly (or, PACKAGE_DIR empty, copy the
# whole context): stop here and say what is missing.
RUN if [ -z "$PACKAGE" ] || [ -z "$PACKAGE_DIR" ]; then \
        echo "PACKAGE and PACKAGE_DIR are required: build with --build-arg PACKAGE=<member>" \
             "--build-arg PACKAGE_DIR=<its folder>, e.g. households and services/households" >&2; \
        exit 1; \
    fi

# Third-party dependencies first, from the lock alone (--frozen: the members' pyproject.toml files
# are not here yet, so uv takes the lock as it is). This layer is rebuilt when the lock changes,
# not on every source edit.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "$PACKAGE" --no-install-workspace

# Then the sources of the member and of the workspace library it uses, installed as regular
# (not editable) packages, so the runtime stage needs the virtual environment only.
COPY libs/kit libs/kit
COPY ${PACKAGE_DIR} ${PACKAGE_DIR}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "$PACKAGE" --no-editable

FROM python:3.11-slim
ENV PATH=/app/.venv/bin:$PATH
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# /var/lib/poverty-review is where a volume with a process's own files is mounted (the gateway's
# signing key): owned by the app user here, so that a new named volume takes that ownership.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app \
    && mkdir -p /var/lib/poverty-review && chown app:app /var/lib/poverty-review
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
USER app
EXPOSE 8000
# No HEALTHCHECK: relays, workers and migrations run from these images too and serve no HTTP;
# docker-compose.yml gives each HTTP process its own.
# No usable default command either: one Dockerfile cannot name each member's module, and each of
# its processes needs a different one anyway. Rather than the base image's Python prompt, say so.
CMD ["sh", "-c", "echo 'no default command: give one (see docker-compose.yml)' >&2; exit 64"]
