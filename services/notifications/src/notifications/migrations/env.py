from kit.migrations import run_env
from notifications.models import metadata

run_env(metadata)
