"""The merged OpenAPI document built without running anything, and its snapshot in the repository.

    python -m launcher.openapi            # print the document
    python -m launcher.openapi --check    # compare with docs/openapi.json, say what changed
    python -m launcher.openapi --write    # refresh docs/openapi.json (after a deliberate change)
    python -m launcher.openapi --coverage # what is described, and every gap

The snapshot is the API's contract: `tests/api/test_openapi_contract.py` fails when the code's
document differs from it, and says whether the difference breaks `/api/v1` clients
(`gateway.api_changes`). Additions only need the snapshot refreshed; a breaking change needs the
refresh, an entry in docs/api-changelog.md, and a reason to break clients.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import gateway.main
import households.config
import households.main
import indicators.config
import indicators.main
import notifications.config
import notifications.main
from gateway.api_changes import compare
from gateway.api_coverage import measure
from gateway.openapi import duplicate_operation_ids, merge
from launcher.embedded import embedded_gateway_settings, embedded_settings

SNAPSHOT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
WRITE_COMMAND = ".venv/bin/python -m launcher.openapi --write"


def build_document() -> dict[str, Any]:
    """What the gateway's `/openapi.json` answers when every service is up."""
    # The apps are built, never started: nothing is written in the folder.
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        documents = {
            "households": households.main.create_app(
                embedded_settings(households.config.Settings, data_dir)
            ).openapi(),
            "indicators": indicators.main.create_app(
                embedded_settings(indicators.config.Settings, data_dir)
            ).openapi(),
            "notifications": notifications.main.create_app(
                embedded_settings(notifications.config.Settings, data_dir)
            ).openapi(),
        }
        settings = embedded_gateway_settings(data_dir)
        own = gateway.main.create_app(settings).openapi()
    return merge(own, documents, version=settings.API_VERSION)


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"refresh {SNAPSHOT.name}")
    action.add_argument("--check", action="store_true", help=f"compare with {SNAPSHOT.name}")
    action.add_argument(
        "--coverage", action="store_true", help="count what is described; list the gaps"
    )
    args = parser.parse_args(argv)
    document = build_document()
    duplicates = duplicate_operation_ids(document)
    if duplicates:
        for name, where in duplicates.items():
            sys.stderr.write(f"operation id {name} used by {', '.join(where)}\n")
        return 1
    if args.write:
        SNAPSHOT.write_text(dumps(document), encoding="utf-8")
        return 0
    if args.coverage:
        coverage = measure(document)
        sys.stdout.write("".join(f"{gap}\n" for gap in coverage.gaps))
        sys.stdout.write(coverage.summary() + "\n")
        return 1 if coverage.gaps else 0
    if args.check:
        changes = compare(json.loads(SNAPSHOT.read_text(encoding="utf-8")), document)
        for line in changes.breaking:
            sys.stdout.write(f"BREAKING {line}\n")
        for line in changes.additions:
            sys.stdout.write(f"added    {line}\n")
        return 1 if changes.breaking else 0
    sys.stdout.write(dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
