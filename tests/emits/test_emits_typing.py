"""The decorated function keeps its signature: for mypy (``assert_type``) and at runtime."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from typing import Any

from typing_extensions import assert_type

from plumberd_logging import EventWriter, emits

from .emits_events import Note


def test_signatures_are_kept(writer: EventWriter) -> None:
    @emits(Note, "Notes", writer=writer)
    def note(text: str, *, level: int = 0) -> int:
        """Write a note."""
        return level

    @emits(Note, "Notes", writer=writer)
    async def anote(text: str) -> str:
        return text

    class Notes:
        @emits(Note, "Notes", writer=writer)
        def add(self, text: str) -> bool:
            return True

    assert_type(note("x", level=2), int)
    coro = anote("x")
    _ = assert_type(coro, Coroutine[Any, Any, str])
    coro.close()
    assert_type(Notes().add("x"), bool)
    assert note("x", level=2) == 2
    assert asyncio.run(anote("y")) == "y"
    assert Notes().add("z") is True
    assert note.__name__ == "note"
    assert note.__doc__ == "Write a note."
    assert str(inspect.signature(note)) == "(text: 'str', *, level: 'int' = 0) -> 'int'"
    assert inspect.iscoroutinefunction(anote)
    assert writer.flush(5)


def test_importing_and_decorating_does_not_load_grpc() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import plumberd_logging as p\n"
        "from plumberd_logging import CommandBus, Event, context_from, emits, use_context\n"
        "class Note(Event):\n"
        "    text: str\n"
        "@emits(Note, 'Notes')\n"
        "def note(text: str) -> None: ...\n"
        "print('grpc' in sys.modules, sorted(set(p.__all__) - set(dir(p))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "False []"
