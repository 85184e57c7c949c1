"""Stream names the C# way: ``{Category}-{id}``, GUID ids lowercase, no ``-`` in the category.

    >>> s = StreamName("Recording", UUID("0B5E7D52-4F6A-4C1B-9A3E-2D8F1C7B6A90"))
    >>> s
    StreamName(category='Recording', stream_id='0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90')
    >>> s == "Recording-0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90"
    True
    >>> StreamName.parse("Recording-rec-1").stream_id
    'rec-1'

C# MicroPlumberd takes the entity id (``Metadata.Id``, ``StreamId<T>()``) from the part after the
*first* dash, which is why a category may not contain one.
"""

from __future__ import annotations

import enum
import hashlib
import re
import struct
from typing import TypeAlias
from uuid import UUID

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "ExpectedPosition",
    "StreamName",
    "StreamState",
    "check_category",
    "check_expected",
    "stream_for",
    "stream_name_for",
    "stream_text",
]


class StreamState(enum.Enum):
    """Expected-position checks that are not a revision number."""

    ANY = "any"
    """No check (the default)."""
    NO_STREAM = "no_stream"
    """The stream must not exist yet (C# ``SaveNew``)."""
    EXISTS = "exists"
    """The stream must exist."""


ANY = StreamState.ANY
NO_STREAM = StreamState.NO_STREAM
STREAM_EXISTS = StreamState.EXISTS

#: An expected position: the revision of the stream's last event (0-based), or a StreamState.
ExpectedPosition: TypeAlias = "int | StreamState"


def check_expected(expected: object, *, what: str = "expected_position") -> int | StreamState:
    """Validate an expected position; ``None`` means ``ANY``."""
    if expected is None:
        return ANY
    if isinstance(expected, StreamState):
        return expected
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise TypeError(
            f"{what}: expected an int revision or ANY / NO_STREAM / STREAM_EXISTS, got {expected!r}"
        )
    if expected < 0:
        raise ValueError(
            f"{what}: {expected} is negative; revisions start at 0 (use NO_STREAM for a "
            "stream that must not exist)"
        )
    return int(expected)


_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


class StreamName(str):
    """A stream name ``{Category}-{stream_id}``; a ``str``, so it goes wherever a name does.

    ``stream_id`` may be a ``UUID`` or a string; GUIDs are rendered like .NET's
    ``Guid.ToString()`` (lowercase, dashed) so Python and C# address the same stream.
    """

    category: str
    stream_id: str

    def __new__(cls, category: str, stream_id: str | UUID | int) -> StreamName:
        check_category(category, what="StreamName(category=...)")
        sid = _render_id(stream_id)
        self = super().__new__(cls, f"{category}-{sid}")
        self.category = category
        self.stream_id = sid
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # pickling
        return (self.category, self.stream_id)

    def __repr__(self) -> str:
        return f"StreamName(category={self.category!r}, stream_id={self.stream_id!r})"

    @classmethod
    def parse(cls, stream_name: str) -> StreamName:
        """Split ``stream_name`` at its first dash into category and id."""
        if not isinstance(stream_name, str):
            raise TypeError(f"StreamName.parse(stream_name): expected str, got {stream_name!r}")
        category, sep, sid = stream_name.partition("-")
        if not sep or not category or not sid:
            raise ValueError(
                f"StreamName.parse: {stream_name!r} is not of the form '{{Category}}-{{id}}'"
            )
        return cls(category, sid)

    @property
    def guid(self) -> UUID:
        """The ``Guid`` C# MicroPlumberd derives from the id (``Metadata.Id``).

        The id itself when it is a GUID; otherwise .NET's name-based hash of the id text
        (SHA-256 folded to 16 bytes), so ``StreamName("Recording", "rec-123").guid`` equals what a
        C# read model sees as ``m.Id``.
        """
        if _GUID_RE.match(self.stream_id):
            return UUID(self.stream_id)
        a, b, c, d = struct.unpack("<4Q", hashlib.sha256(self.stream_id.encode()).digest())
        return UUID(bytes_le=struct.pack("<QQ", a ^ c, b ^ d))


def check_category(category: object, *, what: str = "category") -> None:
    """Raise ``ValueError``/``TypeError`` unless ``category`` is a valid MicroPlumberd category."""
    if not isinstance(category, str):
        raise TypeError(f"{what}: expected str, got {type(category).__name__}")
    if not category:
        raise ValueError(f"{what}: must not be empty")
    if "-" in category:
        raise ValueError(
            f"{what}: {category!r} contains '-'; C# MicroPlumberd splits stream names at the "
            "first dash, so the entity id it reads would be wrong"
        )


def stream_text(stream: object, *, what: str = "stream") -> str:
    """Validate a stream given as ``str``/``StreamName`` and return its name."""
    if not isinstance(stream, str):
        raise TypeError(f"{what}: expected a str or StreamName, got {type(stream).__name__}")
    if not stream or stream != stream.strip():
        raise ValueError(f"{what}: expected a non-empty name without surrounding spaces")
    return str(stream)


def stream_for(event: object) -> str | None:
    """The default stream of ``event`` from its class rule (``category=``/``stream_id_field=``).

    ``None`` when the class has no rule. A rule without ``stream_id_field`` gives ``{Category}``,
    like C# ``AppendEvent`` without an id.
    """
    cls = type(event)
    category = getattr(cls, "__category__", None)
    if category is None:
        return None
    field_name = getattr(cls, "__stream_id_field__", None)
    if field_name is None:
        return str(category)
    try:
        value = getattr(event, field_name)
    except AttributeError:
        raise ValueError(
            f"{cls.__name__}: stream_id_field {field_name!r} is not an attribute of the event"
        ) from None
    if value is None or value == "":
        raise ValueError(
            f"{cls.__name__}.{field_name}: the stream id is empty, so no stream can be named"
        )
    return StreamName(category, value)


_VALID_CATEGORIES: set[str] = set()  # categories stream_for accepted (bounded)


def stream_name_for(event: object) -> str | None:
    """:func:`stream_for` as a plain ``str`` (the entry points' path): a rule's usual case, a
    category already accepted and a non-empty ``str`` id that is not a GUID, is written
    without building a ``StreamName``; anything else goes through :func:`stream_for`."""
    cls = type(event)
    category = getattr(cls, "__category__", None)
    if category is None:
        return None
    if type(category) is str and category in _VALID_CATEGORIES:
        field_name = getattr(cls, "__stream_id_field__", None)
        if field_name is not None:
            value = getattr(event, field_name, None)
            if type(value) is str and value and not _GUID_RE.match(value):
                return f"{category}-{value}"
    name = stream_for(event)
    if name is None:
        return None
    if isinstance(name, StreamName) and type(category) is str and len(_VALID_CATEGORIES) < 1024:
        _VALID_CATEGORIES.add(category)  # StreamName checked it
    return str(name)


def _render_id(stream_id: object) -> str:
    if isinstance(stream_id, UUID):
        return str(stream_id)
    if isinstance(stream_id, bool) or not isinstance(stream_id, str | int):
        raise TypeError(
            "StreamName(stream_id=...): expected a str, UUID or int, "
            f"got {type(stream_id).__name__}"
        )
    text = str(stream_id)
    if not text:
        raise ValueError("StreamName(stream_id=...): must not be empty")
    if _GUID_RE.match(text):
        return text.lower()
    return text
