"""Fixtures for the handler and processor tests: a clean logging setup per test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from plumberd_logging.config import reset_default_writer
from plumberd_logging.testing import InMemoryEventStore


@pytest.fixture(autouse=True)
def clean_logging(eventstore: InMemoryEventStore) -> Iterator[None]:
    """Restore the root logger's handlers and level, and forget the default writer.

    It depends on ``eventstore`` so that it is torn down first, while the server still runs.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    reset_default_writer()
