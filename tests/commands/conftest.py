"""Fixtures for the CommandBus tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_diagnostics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees its own stderr lines (the library rate-limits repeats per kind)."""
    from plumberd_logging import _diagnostics

    monkeypatch.setattr(_diagnostics, "_last", {})
    monkeypatch.setattr(_diagnostics, "_suppressed", {})
