"""The one source of new event ids: random (version 4) UUIDs drawn from a pool filled in bulk.

    event_id = new_event_id()
    text = id_text(event_id)  # str(event_id), remembered for the most recent ids

One ``os.urandom`` call makes 256 ids instead of one call per id. The pool is emptied in a
forked child, so a child never reuses ids its parent has drawn or will draw.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from uuid import UUID, SafeUUID

from plumberd_logging._accel import speedups

__all__ = ["id_text", "new_event_id"]

_BATCH = 256
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_POOL: deque[UUID] = deque()
_TEXTS: dict[int, str] = {}  # UUID.int -> its text, the most recent ids (bounded)
_TEXTS_MAX = 4096


def _new_uuids(raw: bytes) -> list[UUID]:
    """A version-4 UUID per 16 bytes of ``raw`` (the reference of ``_speedups.new_uuids``).

    ``UUID(int=...)`` checks its argument in Python code; these ints are valid by construction,
    so the two slots ``UUID.__init__`` fills are filled directly (half the cost per id).
    """
    make, put, unknown = UUID.__new__, object.__setattr__, SafeUUID.unknown
    out = []
    for i in range(0, len(raw), 16):
        value = make(UUID)
        put(value, "int", (int.from_bytes(raw[i : i + 16], "big") & _CLEAR) | _SET)
        put(value, "is_safe", unknown)
        out.append(value)
    return out


_NEW_UUIDS: Callable[[bytes], list[UUID]] = (
    speedups.new_uuids if speedups is not None else _new_uuids
)


def _refill() -> None:
    _POOL.extend(_NEW_UUIDS(os.urandom(16 * _BATCH)))


def new_event_id() -> UUID:
    """A new random event id (thread-safe: ``deque.popleft`` is atomic)."""
    while True:
        try:
            return _POOL.popleft()
        except IndexError:
            _refill()


def _id_text(value: UUID) -> str:
    """``str(value)``, remembered for the most recent few thousand ids: an event's id is
    written up to three times (its body, its metadata, the append request), and
    ``UUID.__str__`` is Python code. Subclasses keep their own ``__str__``."""
    if type(value) is not UUID:
        return str(value)
    key = value.int
    text = _TEXTS.get(key)
    if text is None:
        if len(_TEXTS) >= _TEXTS_MAX:
            _TEXTS.clear()
        h = value.hex  # UUID.__str__ splits this too, at more cost
        text = _TEXTS[key] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return text


#: ``str(value)`` of an event id: the C accelerator's, else :func:`_id_text` (its reference).
id_text: Callable[[UUID], str] = speedups.uuid_text if speedups is not None else _id_text


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.clear)
