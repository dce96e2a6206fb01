"""`python -m households.relay`: publish the outbox to RabbitMQ, forever."""

from households.config import Settings
from households.db import outbox
from kit import runner

if __name__ == "__main__":
    settings = Settings()
    runner.run(settings, lambda: runner.relay_forever(settings, outbox))
