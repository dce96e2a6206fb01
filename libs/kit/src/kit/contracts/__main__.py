"""The event catalogue for integrators, generated from the contracts.

python -m kit.contracts > docs/events.schema.json        # JSON Schema of every event type
python -m kit.contracts --asyncapi > docs/asyncapi.json  # AsyncAPI 3.0: exchange, queues, …
"""

import argparse
import json
import sys

from kit.contracts import catalogue
from kit.contracts.asyncapi import asyncapi

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--asyncapi", action="store_true", help="the AsyncAPI 3.0 document")
    document = asyncapi() if parser.parse_args().asyncapi else catalogue()
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
