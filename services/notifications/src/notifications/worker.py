"""`python -m notifications.worker`: consume events, forever."""

from kit import runner
from kit.messaging.topology import NOTIFICATIONS_QUEUE
from notifications.config import Settings
from notifications.handlers import consumer

if __name__ == "__main__":
    settings = Settings()
    runner.run(settings, lambda: runner.consume_forever(settings, NOTIFICATIONS_QUEUE, consumer))
