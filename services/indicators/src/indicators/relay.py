"""`python -m indicators.relay`: publish the outbox to RabbitMQ, forever."""

from indicators.config import Settings
from indicators.db import outbox
from kit import runner

if __name__ == "__main__":
    settings = Settings()
    runner.run(settings, lambda: runner.relay_forever(settings, outbox))
