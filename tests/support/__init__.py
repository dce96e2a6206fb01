"""Helpers shared by the end-to-end tests (on `pythonpath` via the root pyproject)."""
