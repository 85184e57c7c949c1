"""Fixtures for the ``@emits`` and context tests: writers on the in-process server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plumberd_logging import EventWriter, configure
from plumberd_logging.config import reset_default_writer
from plumberd_logging.testing import InMemoryEventStore


@pytest.fixture
def writer(eventstore: InMemoryEventStore) -> Iterator[EventWriter]:
    """A writer with a short linger, closed after the test while the server still runs."""
    with EventWriter(eventstore.url, linger=0.005) as w:
        yield w


@pytest.fixture
def configured(eventstore: InMemoryEventStore) -> Iterator[EventWriter]:
    """The default writer (``configure``), forgotten after the test while the server runs."""
    yield configure(eventstore.url, linger=0.005)
    reset_default_writer()


@pytest.fixture(autouse=True)
def no_default_writer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without a default writer and without ``$PLUMBERD_URL``."""
    monkeypatch.delenv("PLUMBERD_URL", raising=False)
    reset_default_writer()
    yield
    reset_default_writer(timeout=0)


@pytest.fixture(autouse=True)
def fresh_diagnostics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees its own stderr lines (the library rate-limits repeats per kind)."""
    from plumberd_logging import _diagnostics

    monkeypatch.setattr(_diagnostics, "_last", {})
    monkeypatch.setattr(_diagnostics, "_suppressed", {})
