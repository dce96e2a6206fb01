"""`python -m embedded`: the whole platform in one process, with demo data, on port 8000."""

import argparse
import asyncio
from pathlib import Path

import structlog
import uvicorn

from embedded.platform import running_platform
from households.demo.load import load_demo
from kit.logging import configure_logging

log = structlog.get_logger()


async def serve(data_dir: Path, host: str, port: int, demo_households: int) -> None:
    async with running_platform(data_dir) as platform:
        if demo_households:
            # In the background: the API answers at once and rates fill in as households load.
            demo = asyncio.create_task(
                load_demo(platform.households_sessionmaker, households=demo_households)
            )
        config = uvicorn.Config(
            platform.gateway, host=host, port=port, log_level="info", lifespan="off"
        )
        print(  # noqa: T201 - the one thing a newcomer needs to read
            f"\nPlatform ready: http://{host}:{port}/docs  (API under /api/v1, "
            f"health at /health; data in {data_dir}/)\n",
            flush=True,
        )
        try:
            await uvicorn.Server(config).serve()
        finally:
            if demo_households and not demo.done():
                demo.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--demo-households",
        type=int,
        default=3000,
        help="synthetic households to load on first start (0: none)",
    )
    arguments = parser.parse_args()
    from households.config import Settings

    configure_logging(Settings(LOG_JSON=False))
    asyncio.run(
        serve(arguments.data_dir, arguments.host, arguments.port, arguments.demo_households)
    )


if __name__ == "__main__":
    main()
