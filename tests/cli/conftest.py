"""Fixtures for the ``plumberd`` command tests.

End-to-end tests run the command in a subprocess (``helpers.plumberd``); ``run`` calls the same
``main()`` in this process, for the many variations whose subprocess start-up would only cost
time.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Callable

import pytest

from plumberd_logging.cli import main


@dataclasses.dataclass(frozen=True)
class Result:
    """What a user sees: the exit code, stdout and stderr (like ``CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*args, input=None, env=None)``: ``plumberd ARGS`` in this process."""
    monkeypatch.delenv("PLUMBERD_URL", raising=False)

    def call(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(input or ""))
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return Result(int(code), out, err)

    return call
