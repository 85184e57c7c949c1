"""The protobuf bytes of append requests, written directly from ``EncodedEvent``s (no grpc here).

kurrentdbclient builds one generated message per event and serializes the lot; here the parts
that never change for an event type (its ``type``/``content-type`` map, the record's schema) are
written once and cached, and each event adds its id, metadata and data:

    body = batch_append_request("Log-app", ANY, events, correlation_id=uuid4(), timeout=5.0)
    reqs = append_requests("Log-app", 3, events)           # Append: options, then one per event
    body = multi_append_request("Log-app", NO_STREAM, events)  # v2 AppendSession, one stream

The bytes equal the generated classes' deterministic serialization (map entries sorted by key),
which ``tests/core/test_wire.py`` checks field by field against kurrentdbclient's own requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from plumberd_logging._ids import id_text
from plumberd_logging.codec import CONTENT_TYPE, EncodedEvent
from plumberd_logging.streams import StreamState

__all__ = [
    "MAX_DEADLINE_SECONDS",
    "append_requests",
    "batch_append_request",
    "multi_append_request",
    "string_properties",
]

#: The largest deadline a protobuf ``Duration`` holds (what kurrentdbclient sends without one).
MAX_DEADLINE_SECONDS = 315_576_000_000

_EMPTY = b"\x00"  # length 0: an Empty message
_TYPE_MAPS: dict[str, bytes] = {}
_SCHEMAS: dict[str, bytes] = {}
_PROPERTIES: dict[tuple[str, str], bytes] = {}
_KEYS: dict[str, bytes] = {}
_VARYING = frozenset(("Created", "$correlationId", "$causationId"))  # new values each event


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [bytes((n,)) for n in range(128)]


def _len(n: int) -> bytes:
    """The varint of a length: one byte below 128, two below 16384."""
    if n < 128:
        return _SMALL[n]
    if n < 16384:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    return _varint(n)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field (``tag`` is the whole key byte, e.g. 0x0A for field 1)."""
    return bytes((tag,)) + _len(len(payload)) + payload


def _text(value: str) -> bytes:
    return value.encode("utf-8")


def _type_map(event_type: str) -> bytes:
    """Field 2 entries ``{"content-type": ..., "type": event_type}`` (sorted keys), cached."""
    cached = _TYPE_MAPS.get(event_type)
    if cached is None:
        content = _field(0x0A, b"content-type") + _field(0x12, _text(CONTENT_TYPE))
        named = _field(0x0A, b"type") + _field(0x12, _text(event_type))
        cached = _field(0x12, content) + _field(0x12, named)
        if len(_TYPE_MAPS) < 4096:
            _TYPE_MAPS[event_type] = cached
    return cached


def _uuid_message(tag: int, value: UUID) -> bytes:
    """An ``event_store.client.UUID`` with its ``string`` form (36 characters)."""
    return bytes((tag, 38, 0x12, 36)) + id_text(value).encode("ascii")


def _proposed_message(event: EncodedEvent) -> bytes:
    """A v1 ``ProposedMessage`` (same fields in Append and BatchAppend)."""
    parts = _uuid_message(0x0A, event.id) + _type_map(event.type)
    if event.metadata:
        parts += b"\x1a" + _len(len(event.metadata)) + event.metadata
    if event.data:
        parts += b'"' + _len(len(event.data)) + event.data
    return parts


def _expected_v1(expected: int | StreamState) -> bytes:
    """The ``expected_stream_position`` oneof (fields 2-5 of both Options messages)."""
    if isinstance(expected, StreamState):
        if expected is StreamState.ANY:
            return b"\x22" + _EMPTY
        if expected is StreamState.NO_STREAM:
            return b"\x1a" + _EMPTY
        return b"\x2a" + _EMPTY
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise ValueError(f"expected: a revision >= 0 or a StreamState, got {expected!r}")
    return b"\x10" + _varint(expected)


def _stream_identifier(stream: str) -> bytes:
    return _field(0x0A, _field(0x1A, _text(stream)) if stream else b"")


def _deadline(timeout: float | None) -> bytes:
    """The BatchAppend ``deadline`` Duration, as kurrentdbclient computes it."""
    if timeout is None:
        seconds, nanos = MAX_DEADLINE_SECONDS, 0
    else:
        fraction, whole = math.modf(timeout)
        seconds = min(int(whole), MAX_DEADLINE_SECONDS)
        nanos = int(fraction * 1_000_000_000)
    body = (b"\x08" + _varint(seconds) if seconds else b"") + (
        b"\x10" + _varint(nanos) if nanos else b""
    )
    return _field(0x3A, body)


def batch_append_request(
    stream: str,
    expected: int | StreamState,
    events: Sequence[EncodedEvent],
    *,
    correlation_id: UUID,
    timeout: float | None,
) -> bytes:
    """A serialized ``BatchAppendReq`` (``is_final``: one atomic batch)."""
    options = _stream_identifier(stream) + _expected_v1(expected) + _deadline(timeout)
    out = [_uuid_message(0x0A, correlation_id), _field(0x12, options)]
    for event in events:
        message = _proposed_message(event)
        out.append(b"\x1a" + _len(len(message)) + message)
    out.append(b"\x20\x01")
    return b"".join(out)


def append_requests(
    stream: str, expected: int | StreamState, events: Sequence[EncodedEvent]
) -> list[bytes]:
    """The serialized ``AppendReq`` stream: the options, then one proposed message per event."""
    options = _stream_identifier(stream) + _expected_v1(expected)
    out = [_field(0x0A, options)]
    for event in events:
        out.append(_field(0x12, _proposed_message(event)))
    return out


def _expected_v2(expected: int | StreamState) -> int:
    if isinstance(expected, StreamState):
        return {StreamState.NO_STREAM: -1, StreamState.ANY: -2, StreamState.EXISTS: -4}[expected]
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise ValueError(f"expected: a revision >= 0 or a StreamState, got {expected!r}")
    return expected


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _schema(event_type: str) -> bytes:
    """Field 3 of a v2 record: ``SchemaInfo(format=JSON, name=event_type)``, cached."""
    cached = _SCHEMAS.get(event_type)
    if cached is None:
        name = _text(event_type)
        cached = _field(0x1A, b"\x08\x01" + (_field(0x12, name) if name else b""))
        if len(_SCHEMAS) < 4096:
            _SCHEMAS[event_type] = cached
    return cached


def string_properties(metadata: bytes) -> dict[str, str]:
    """The metadata JSON object as v2 record properties; every value must be a string."""
    if not metadata:
        return {}
    from plumberd_logging import _json

    try:
        value: Any = _json.loads(metadata)
    except ValueError as exc:
        raise ValueError(f"metadata: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError("metadata: expected a JSON object for a multi-stream append")
    for key, item in value.items():
        if not isinstance(item, str):
            raise ValueError(
                f"metadata[{key!r}]: a multi-stream append carries string values only, got {item!r}"
            )
    return value


def _property(key: str, value: str) -> bytes:
    """One ``properties`` map entry: ``key`` -> ``Value(string_value=value)``."""
    k = _KEYS.get(key)
    if k is None:
        k = _field(0x0A, _text(key)) if key else b""
        if len(_KEYS) < 4096:
            _KEYS[key] = k
    v = _text(value)
    n = len(v)
    short = len(k) + n + 4  # the entry's length when every length fits one byte
    if short < 128:  # the usual case (ids, timestamps): one join, no length calls
        return b"".join((bytes((0x12, short)), k, bytes((0x12, n + 2, 0x1A, n)), v))
    inner = b"\x1a" + _len(n) + v  # Value.string_value
    entry_len = len(k) + 1 + len(_len(len(inner))) + len(inner)
    return b"\x12" + _len(entry_len) + k + b"\x12" + _len(len(inner)) + inner


def _properties(metadata: bytes) -> bytes:
    """The record's ``properties`` (sorted keys); entries of keys whose values repeat (the host
    name, the user) are written once and reused."""
    out = []
    cache = _PROPERTIES
    for key, value in sorted(string_properties(metadata).items()):
        if key in _VARYING:
            out.append(_property(key, value))
            continue
        entry = cache.get((key, value))
        if entry is None:
            entry = _property(key, value)
            if len(cache) >= 4096:
                cache.clear()
            cache[key, value] = entry
        out.append(entry)
    return b"".join(out)


def _record(event: EncodedEvent) -> bytes:
    parts = bytes((0x0A, 36)) + id_text(event.id).encode("ascii") + _properties(event.metadata)
    parts += _schema(event.type)
    if event.data:
        parts += b'"' + _len(len(event.data)) + event.data
    return parts


def multi_append_request(
    stream: str, expected: int | StreamState, events: Sequence[EncodedEvent]
) -> bytes:
    """A serialized v2 ``AppendRequest`` for one stream of a multi-stream append."""
    out = [_field(0x0A, _text(stream)) if stream else b""]
    for event in events:
        out.append(_field(0x12, _record(event)))
    out.append(b"\x18" + _varint(_zigzag(_expected_v2(expected)) & 0xFFFFFFFFFFFFFFFF))
    return b"".join(out)
