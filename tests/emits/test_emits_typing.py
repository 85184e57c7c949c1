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
