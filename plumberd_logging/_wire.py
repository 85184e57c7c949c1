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
import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from plumberd_logging import _json
from plumberd_logging._accel import speedups
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
_ENTRY_HEADS: dict[tuple[bytes, int], bytes] = {}
_VARYING = frozenset(("Created", "$correlationId", "$causationId"))  # new values each event


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _head(tag: int, n: int) -> bytes:
    """A field's key byte ``tag`` and the varint of its length ``n`` (one byte below 128, two
    below 16384)."""
    if n < 128:
        return bytes((tag, n))
    if n < 16384:
        return bytes((tag, (n & 0x7F) | 0x80, n >> 7))
    return bytes((tag,)) + _varint(n)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field (``tag`` is the whole key byte, e.g. 0x0A for field 1)."""
    return _head(tag, len(payload)) + payload


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


_ID_HEAD = bytes((0x0A, 38, 0x12, 36))  # field 1, a UUID message: its 36-char string form
_RECORD_ID_HEAD = bytes((0x0A, 36))  # AppendRecord.record_id: the 36-char string


def _uuid_message(value: UUID) -> bytes:
    """Field 1, an ``event_store.client.UUID`` with its ``string`` form (36 characters)."""
    return _ID_HEAD + id_text(value).encode("ascii")


def _proposed_parts(event: EncodedEvent) -> tuple[int, tuple[bytes, ...]]:
    """A v1 ``ProposedMessage`` (same fields in Append and BatchAppend) as its length and the
    parts to join: the id, the type map, then metadata and data, each only when not empty.

    The data and metadata are not copied here: a request is joined once, from every part.
    """
    meta, data = event.metadata, event.data
    type_map = _type_map(event.type)
    meta_head = _head(0x1A, len(meta)) if meta else b""
    data_head = _head(0x22, len(data)) if data else b""
    size = 40 + len(type_map) + len(meta_head) + len(meta) + len(data_head) + len(data)
    ident = id_text(event.id).encode("ascii")
    return size, (_ID_HEAD, ident, type_map, meta_head, meta, data_head, data)


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
    head = _uuid_message(correlation_id) + _field(0x12, options)
    if _PROPOSED is not None:  # the C twin of the loop below
        proposed: bytes = _PROPOSED(events, _TYPE_MAPS, _type_map, head, b"\x20\x01")
        return proposed
    out = [head]
    add, parts = out.append, out.extend
    for event in events:  # each ProposedMessage as field 3 (proposed_messages)
        size, message = _proposed_parts(event)
        add(_head(0x1A, size))
        parts(message)
    add(b"\x20\x01")
    return b"".join(out)


_PROPOSED = speedups.proposed_messages if speedups is not None else None


def append_requests(
    stream: str, expected: int | StreamState, events: Sequence[EncodedEvent]
) -> list[bytes]:
    """The serialized ``AppendReq`` stream: the options, then one proposed message per event."""
    options = _stream_identifier(stream) + _expected_v1(expected)
    out = [_field(0x0A, options)]
    for event in events:
        size, message = _proposed_parts(event)
        out.append(b"".join((_head(0x12, size), *message)))
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
    return _entry(k, _text(value))


def _entry(k: bytes, v: bytes) -> bytes:
    """A ``properties`` entry from its key field ``k`` and the UTF-8 string value ``v``: all
    but the value depends only on the key and the value's length, and is cached."""
    n = len(v)
    head = _ENTRY_HEADS.get((k, n))
    if head is None:
        inner = len(_head(0x1A, n)) + n  # Value.string_value
        outer = len(k) + len(_head(0x12, inner)) + inner
        head = _head(0x12, outer) + k + _head(0x12, inner) + _head(0x1A, n)
        if len(_ENTRY_HEADS) >= 4096:
            _ENTRY_HEADS.clear()
        _ENTRY_HEADS[k, n] = head
    return head + v


# The metadata ``standard_metadata_json`` writes for an event outside any correlation context
# (every log line, most events): its properties are written from the matched bytes, without
# parsing the JSON nor sorting its keys. Anything else (custom keys, a user, escapes or
# non-ASCII in the host name) takes the general path; both give the same bytes
# (tests/core/test_wire.py).
_STANDARD = re.compile(
    rb'\{"Created":"([-0-9T:.+Z]{1,40})"(?:,"ClientHostName":"([^"\\\x00-\x1f\x7f-\xff]*)")?'
    rb',"\$correlationId":"([-0-9a-f]{36})","\$causationId":"([-0-9a-f]{36})"\}'
)
_CAUSATION, _CORRELATION, _CREATED = (
    _field(0x0A, key) for key in (b"$causationId", b"$correlationId", b"Created")
)


def _standard_properties(metadata: bytes) -> bytes | None:
    """The properties of standard metadata (sorted keys, as the general path), else None."""
    match = _STANDARD.fullmatch(metadata)
    if match is None:
        return None
    created, host, correlation, causation = match.groups()
    out = [_entry(_CAUSATION, causation), _entry(_CORRELATION, correlation)]
    if host is not None:
        out.append(_lasting_property("ClientHostName", host.decode("ascii")))
    out.append(_entry(_CREATED, created))
    return b"".join(out)


def _properties(metadata: bytes) -> bytes:
    """The record's ``properties`` (sorted keys): the standard metadata's straight from its
    bytes, any other by parsing it."""
    standard = _standard_properties(metadata)
    if standard is not None:
        return standard
    return b"".join(
        _property(key, value) if key in _VARYING else _lasting_property(key, value)
        for key, value in sorted(string_properties(metadata).items())
    )


def _lasting_property(key: str, value: str) -> bytes:
    """The entry of a key whose value repeats from event to event (the host name, the user),
    written once and reused."""
    entry = _PROPERTIES.get((key, value))
    if entry is None:
        entry = _property(key, value)
        if len(_PROPERTIES) >= 4096:
            _PROPERTIES.clear()
        _PROPERTIES[key, value] = entry
    return entry


def multi_append_request(
    stream: str, expected: int | StreamState, events: Sequence[EncodedEvent]
) -> bytes:
    """A serialized v2 ``AppendRequest`` for one stream of a multi-stream append."""
    head = _field(0x0A, _text(stream)) if stream else b""
    tail = b"\x18" + _varint(_zigzag(_expected_v2(expected)) & 0xFFFFFFFFFFFFFFFF)
    if _RECORDS is not None:  # the C twin of the loop below
        records: bytes = _RECORDS(events, _SCHEMAS, _schema, _properties, head, tail)
        return records
    out = [head]
    add, parts = out.append, out.extend
    for event in events:  # each AppendRecord as field 2 (records), joined once at the end
        properties = _properties(event.metadata)
        schema = _schema(event.type)
        data = event.data
        data_head = _head(0x22, len(data)) if data else b""
        size = 38 + len(properties) + len(schema) + len(data_head) + len(data)
        add(_head(0x12, size))
        parts((_RECORD_ID_HEAD, id_text(event.id).encode("ascii"), properties, schema))
        parts((data_head, data))
    add(tail)
    return b"".join(out)


_RECORDS = speedups.append_records if speedups is not None else None
