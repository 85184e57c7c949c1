"""Shared pytest configuration for the whole suite."""

from __future__ import annotations

__all__: list[str] = []

# pytester drives the pytest plugin of plumberd_logging.testing in tests/testing/.
pytest_plugins = ("pytester",)
