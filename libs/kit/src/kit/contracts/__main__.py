"""`python -m kit.contracts > docs/events.schema.json`: the event catalogue for integrators."""

import json

from kit.contracts import catalogue

if __name__ == "__main__":
    print(json.dumps(catalogue(), indent=2, ensure_ascii=False))  # noqa: T201
