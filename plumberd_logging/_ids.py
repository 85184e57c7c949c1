"""Random (version 4) event ids, drawn in bulk: one ``os.urandom`` call per 256 ids.

    from plumberd_logging._ids import new_id
    event_id = new_id()          # a uuid.UUID, version 4, as uuid.uuid4() would give

``uuid.uuid4()`` costs a system call and the ``UUID`` constructor's checks per id (about
1.7 µs); ``@emits`` reserves one id per call on the caller's thread, so ids are made here 256 at a
time. A forked child never reuses ids its parent drew (the batch is dropped in the child).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from uuid import UUID, SafeUUID

__all__ = ["new_id"]

_BATCH = 256
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))  # clears the version and variant bits
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_ids: Iterator[UUID] = iter(())


def _checked(value: int) -> UUID:
    return UUID(int=value)


def _direct(
    value: int,
    _new: Callable[..., UUID] = object.__new__,
    _set: Callable[[object, str, object], None] = object.__setattr__,
    _unknown: SafeUUID = SafeUUID.unknown,
) -> UUID:
    """What ``UUID(int=value)`` builds, without re-checking a value known to be in range."""
    guid = _new(UUID)
    _set(guid, "int", value)
    _set(guid, "is_safe", _unknown)
    return guid


def _pick_maker() -> Callable[[int], UUID]:
    """``_direct`` when it builds exactly what the constructor does on this Python."""
    probe = (1 << 127) | 0x1234 | _VERSION_4
    try:
        made = _direct(probe)
        same = made == UUID(int=probe) and str(made) == str(UUID(int=probe)) and made.version == 4
    except Exception:
        same = False
    return _direct if same and hash(made) == hash(UUID(int=probe)) else _checked


_make = _pick_maker()


def new_id() -> UUID:
    """A new random UUID (version 4)."""
    global _ids
    try:
        return next(_ids)
    except StopIteration:
        raw = os.urandom(16 * _BATCH)
        make, from_bytes, mask, bits = _make, int.from_bytes, _VERSION_MASK, _VERSION_4
        batch = [
            make((from_bytes(raw[i : i + 16], "big") & mask) | bits) for i in range(0, len(raw), 16)
        ]
        _ids = iter(batch[1:])
        return batch[0]


def _forget() -> None:
    global _ids
    _ids = iter(())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
