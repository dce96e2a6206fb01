"""Loaded by pytest before any test folder.

pytest's importlib mode names a test module after its path (`gateway/tests/test_proxy.py` becomes
`gateway.tests.test_proxy`) and would register the folder `gateway/` as a package `gateway`, hiding
the real one in `gateway/src`. Importing the workspace packages first keeps the real ones.
"""

import gateway
import households
import indicators
import kit
import launcher
import notifications

__all__ = ["gateway", "households", "indicators", "kit", "launcher", "notifications"]
