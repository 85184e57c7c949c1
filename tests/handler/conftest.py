"""Fixtures for the handler and processor tests: a clean logging setup per test."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator

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


RunProgram = Callable[[str], str]


@pytest.fixture
def run_program(eventstore: InMemoryEventStore) -> RunProgram:
    """Run ``code`` (dedented) in a fresh interpreter, the test server's URL as ``argv[1]``;
    its stdout. A non-zero exit fails the test with the program's stderr."""

    def run(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), eventstore.url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run
