"""How the writer cuts a chunk of queued events into appends (pure logic, no I/O).

A *unit* is one atomic append to one stream. Consecutive events of a stream share a unit until it
is full (count or bytes) or an event carries its own expected position (which must be checked
before it, so it opens a new unit). Units are arranged in *rounds*: round ``r`` holds the ``r``-th
unit of every stream, so a stream's units go out in order, one round after the other, while one
round can send many streams at once (one multi-stream append).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Generic, Protocol, TypeVar

from plumberd_logging.streams import ANY, StreamState

__all__ = ["Sized", "Unit", "group_calls", "plan_rounds"]


class Sized(Protocol):
    """What planning needs to know of a queued event."""

    @property
    def stream(self) -> str: ...
    @property
    def expected(self) -> int | StreamState: ...
    @property
    def size(self) -> int: ...


T = TypeVar("T", bound=Sized)


@dataclasses.dataclass(slots=True)
class Unit(Generic[T]):
    """Events appended to one stream in one atomic append."""

    stream: str
    expected: int | StreamState
    items: list[T]
    size: int = 0


def plan_rounds(items: Iterable[T], max_events: int, max_bytes: int) -> list[list[Unit[T]]]:
    """Cut ``items`` (in submission order) into rounds of units; see the module docstring."""
    per_stream: dict[str, list[Unit[T]]] = {}
    lasts: dict[str, Unit[T]] = {}  # each stream's open unit (this runs once per event)
    for item in items:
        stream, size = item.stream, item.size
        last = lasts.get(stream)
        if (
            last is None
            or item.expected is not ANY
            or len(last.items) >= max_events
            or (last.size + size > max_bytes and last.items)
        ):
            last = lasts[stream] = Unit(stream, item.expected, [])
            units = per_stream.get(stream)
            if units is None:
                per_stream[stream] = [last]
            else:
                units.append(last)
        last.items.append(item)
        last.size += size
    depth = max((len(u) for u in per_stream.values()), default=0)
    return [[units[r] for units in per_stream.values() if r < len(units)] for r in range(depth)]


def group_calls(units: Sequence[Unit[T]], max_events: int, max_bytes: int) -> list[list[Unit[T]]]:
    """Pack the units of one round (distinct streams) into calls within the batch limits."""
    calls: list[list[Unit[T]]] = []
    current: list[Unit[T]] = []
    events = size = 0
    for unit in units:
        if current and (events + len(unit.items) > max_events or size + unit.size > max_bytes):
            calls.append(current)
            current, events, size = [], 0, 0
        current.append(unit)
        events += len(unit.items)
        size += unit.size
    if current:
        calls.append(current)
    return calls
