"""The C#-compatible codec: one event in, ``(id, type, data, metadata)`` bytes out.

Every entry point (client, writer, handler, structlog processor, ``@emits``, ``CommandBus``)
encodes through here, so all of them write what C# MicroPlumberd reads (wire-format.md E1-E6):

    >>> from decimal import Decimal
    >>> class Paid(Event):
    ...     order_id: str
    ...     total: Decimal
    >>> enc = encode(Paid(order_id="o-1", total=Decimal("20.00")))
    >>> enc.type, enc.data.decode()[-30:]
    ('Paid', '"OrderId":"o-1","Total":20.00}')

Errors are :class:`~plumberd_logging.errors.InvalidEvent` naming the field path, e.g.
``OrderPlaced.items[1].unit_price: Decimal NaN is not valid JSON``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple
from uuid import UUID

from plumberd_logging._accel import speedups
from plumberd_logging._clock import CACHED_SECONDS
from plumberd_logging._guid import parse_guid
from plumberd_logging._ids import id_text, new_event_id
from plumberd_logging._json import Fragment, JSONEncodeError
from plumberd_logging._json import dumps as _dumps
from plumberd_logging._values import JsonNumber, JsonReady, NaiveDatetimes, ValueConverter
from plumberd_logging.context import CorrelationContext, current_context
from plumberd_logging.errors import InvalidEvent
from plumberd_logging.events import event_type_of
from plumberd_logging.metadata import (
    Metadata,
    RootCorrelation,
    build_metadata,
    custom_metadata,
    host_json,
    standard_metadata_json,
)

__all__ = ["CONTENT_TYPE", "Codec", "EncodedEvent", "encode"]

CONTENT_TYPE: Final = "application/json"


class _Capture:
    """Sentinel: read the correlation context at the time of the call."""

    def __repr__(self) -> str:
        return "CAPTURE"


CAPTURE: Final = _Capture()

_NOT_EVENTS = (str, bytes, int, float, list, tuple)
_MAPPINGS: dict[type, bool] = {dict: True, JsonReady: True}  # per class: is it a Mapping?
_CLASS_TYPES: dict[type, str] = {}  # per event class: its checked C# type name
_TYPES: set[str] = set()  # type names given as event_type=... and checked (bounded)
_encoded = tuple.__new__  # EncodedEvent from a tuple, without the named-argument __new__
# An object of a compiled layout encoded in C, body and standard metadata (twin: the compiled
# encoder, then orjson; and standard_metadata_json).
_OBJECT_EVENT = speedups.object_event if speedups is not None else None
_STANDARD_JSON = speedups.standard_json if speedups is not None else None  # twin: metadata's


def _exact_number(value: Any) -> Any:
    """orjson's ``default``: Decimals and ``JsonNumber``s as unquoted exact text."""
    if isinstance(value, Decimal):
        return Fragment(format(value, "f"))
    if type(value) is JsonNumber:
        return Fragment(value.text)
    raise TypeError(f"cannot write a value of type {type(value).__name__} as JSON")


class EncodedEvent(NamedTuple):
    """An event ready to append: the EventStore event id, type, and UTF-8 JSON bytes."""

    id: UUID
    type: str
    data: bytes
    metadata: bytes


class Codec:
    """Encodes events; the options cover the few places where C# applications differ.

    ``naive_datetimes``: ``"reject"`` (default) or ``"utc"`` to write naive values as UTC.
    ``string_enums``: write string-valued enums as their value (only for C# enums that carry a
    ``JsonStringEnumConverter``); by default they are rejected, C# reads enums as integers.
    ``root_correlation``: for events written outside any correlation context, ``"event_id"``
    (default, py-micro-plumberd parity: both ids are the event's own) or ``"omit"`` (C# parity).
    ``client_host_name``: add ``ClientHostName`` to metadata (default True, as py-micro-plumberd).
    """

    def __init__(
        self,
        *,
        naive_datetimes: NaiveDatetimes = "reject",
        string_enums: bool = False,
        root_correlation: RootCorrelation = "event_id",
        client_host_name: bool = True,
    ) -> None:
        if root_correlation not in ("event_id", "omit"):
            raise ValueError(
                f"root_correlation: expected 'event_id' or 'omit', got {root_correlation!r}"
            )
        self._values = ValueConverter(naive_datetimes=naive_datetimes, string_enums=string_enums)
        self._root_correlation: RootCorrelation = root_correlation
        self._client_host_name = bool(client_host_name)
        # The ClientHostName member the C encoder writes into standard metadata ("" without);
        # None: it leaves root events' metadata to Python (root_correlation="omit").
        self._host: str | None = None
        if root_correlation == "event_id":
            self._host = host_json() if client_host_name else ""

    @property
    def root_correlation(self) -> RootCorrelation:
        """What a root event's correlation ids are: ``"event_id"`` or ``"omit"``."""
        return self._root_correlation

    @property
    def client_host_name(self) -> bool:
        """Whether metadata carries ``ClientHostName``."""
        return self._client_host_name

    def encode(
        self,
        event: object,
        metadata: Metadata | Mapping[str, Any] | None = None,
        *,
        event_type: str | None = None,
        event_id: UUID | str | None = None,
        created: float | datetime | None = None,
        context: CorrelationContext | _Capture | None = CAPTURE,
    ) -> EncodedEvent:
        """Encode ``event`` (an ``Event``, dataclass, pydantic model or object with fields).

        A ``Mapping`` is accepted as the body when ``event_type`` is given; its keys are written
        exactly as given (spell them as the C# properties). ``created`` is the capture time
        (default now); ``context`` the correlation context captured with the event (default:
        the one active now).
        """
        cls = type(event)
        id_first: str | None = None
        mapping = _MAPPINGS.get(cls)
        if mapping is None:
            mapping = _MAPPINGS[cls] = issubclass(cls, Mapping)
        if mapping:
            if event_type is None:
                raise InvalidEvent("a dict body needs event_type=... (the C# type name)", "event")
            name = (
                event_type
                if type(event_type) is str and event_type in _TYPES
                else _checked_type(event_type)
            )
            body = event if type(event) is JsonReady else self._values.convert(event)
            if type(event_id) is UUID and event_id.int and "Id" not in body:
                eid = event_id  # the writer's case: an id drawn for a body without one
            else:
                eid = _event_id(body.get("Id"), event_id, name)
            eid_text = id_text(eid)
            if "Id" in body:
                body = {"Id": eid_text, **body}
            else:
                id_first = eid_text  # written before the body's JSON: no copy of the body
        else:
            cached = _CLASS_TYPES.get(cls) if event_type is None else None
            if cached is not None:
                name = cached
            else:
                name = _checked_type(event_type if event_type is not None else event_type_of(event))
                if isinstance(event, _NOT_EVENTS) or event is None:
                    raise InvalidEvent(
                        f"expected an event object, got {cls.__name__}; pass an Event, a "
                        "dataclass, or a dict with event_type=...",
                        name,
                    )
                if event_type is None:
                    _CLASS_TYPES[cls] = name
            own = getattr(event, "id", None)
            # the common case, checked as _event_id would: the event's own id
            own_id: UUID | None = (
                own if event_id is None and type(own) is UUID and own.int else None
            )
            native = self._values._native.get(cls) if _OBJECT_EVENT is not None else None
            if native is not None and own_id is not None:  # the C accelerator's encoder
                eid_text = id_text(own_id)
                made = _OBJECT_EVENT(  # type: ignore[misc]  # not None when native is not
                    event,
                    native[0],
                    native[1],
                    eid_text,
                    own_id,
                    name,
                    created,
                    CACHED_SECONDS[False],
                    self._host if metadata is None and context is not CAPTURE else None,
                    context,
                    EncodedEvent,
                )
                if made is not None:
                    if made.__class__ is EncodedEvent:
                        return made
                    meta_json = self._metadata(eid_text, metadata, created, context)
                    return _encoded(EncodedEvent, (own_id, name, made, meta_json))
            try:
                compiled = self._values._compiled.get(cls)  # object_fields' fast path, inline
                body = compiled(event, 0) if compiled is not None else None
                if body is None:
                    body = self._values.object_fields(event)
            except InvalidEvent as exc:
                raise InvalidEvent(exc.reason, cls.__name__ + exc.path) from None
            eid = own_id if own_id is not None else _event_id(own, event_id, cls.__name__)
            eid_text = id_text(eid)
            if "Id" in body:
                body["Id"] = eid_text
        meta_json = self._metadata(eid_text, metadata, created, context)
        try:  # dumps(), inline: this runs for every event
            data = _dumps(body, default=_exact_number)
        except JSONEncodeError:
            data = self.dumps(body, name)  # raises, naming the field
        # a right-sized copy, as dumps() makes; _with_id makes a new object anyway
        data = bytes(memoryview(data)) if id_first is None else _with_id(id_first, data)
        return _encoded(EncodedEvent, (eid, name, data, meta_json))

    def encode_json(
        self,
        data: bytes,
        event_id: UUID,
        event_type: str,
        metadata: Metadata | None,
        *,
        created: float | None,
        context: CorrelationContext | None,
    ) -> EncodedEvent:
        """An event whose body is already JSON written to these rules, ``"Id"`` (the text of
        ``event_id``) first: the metadata is added. For the writer's log lines (their body is
        written in C, the same bytes :meth:`encode` writes for the ``LogRecorded`` mapping)."""
        name = (
            event_type
            if type(event_type) is str and event_type in _TYPES
            else _checked_type(event_type)
        )
        meta_json = self._metadata(id_text(event_id), metadata, created, context)
        return _encoded(EncodedEvent, (event_id, name, data, meta_json))

    def _metadata(
        self,
        eid_text: str,
        metadata: Metadata | Mapping[str, Any] | None,
        created: float | datetime | None,
        context: CorrelationContext | _Capture | None,
    ) -> bytes:
        ctx = current_context() if context is CAPTURE else context
        assert not isinstance(ctx, _Capture)
        custom = None if metadata is None else custom_metadata(metadata)
        if not custom and not isinstance(created, datetime):  # the common case: no dict built
            if _STANDARD_JSON is not None and self._host is not None:  # its C twin, directly
                made = _STANDARD_JSON(eid_text, created, CACHED_SECONDS[False], self._host, ctx)
                if made is not None:
                    return made
            return standard_metadata_json(
                eid_text, created, ctx, self._root_correlation, self._client_host_name
            )
        meta = build_metadata(
            eid_text,
            custom,
            created=created,
            context=ctx,
            root_correlation=self._root_correlation,
            client_host_name=self._client_host_name,
        )
        return self.dumps(meta, "Metadata")

    def dumps(self, value: Any, where: str) -> bytes:
        """Compact UTF-8 JSON of an already converted value (Decimals unquoted)."""
        try:
            data = _dumps(value, default=_exact_number)
            # A right-sized copy: orjson's buffer is shrunk in place, and while encoded events
            # wait in the queue the leftover holes add ~800 bytes of RSS per event.
            return bytes(memoryview(data))
        except JSONEncodeError as exc:
            path = _surrogate_path(value)
            if path or "surrogates" in str(exc):
                raise InvalidEvent(
                    "a string with a lone surrogate is not valid UTF-8", where + path
                ) from None
            raise InvalidEvent(f"not JSON: {exc}", where) from None

    def convert(self, value: Any) -> Any:
        """The JSON-ready form of one value under this codec's rules."""
        return self._values.convert(value)


_DEFAULT = Codec()


def encode(
    event: object,
    metadata: Metadata | Mapping[str, Any] | None = None,
    *,
    event_type: str | None = None,
    event_id: UUID | str | None = None,
    created: float | datetime | None = None,
    context: CorrelationContext | _Capture | None = CAPTURE,
) -> EncodedEvent:
    """Encode with the default :class:`Codec` (see :meth:`Codec.encode`)."""
    return _DEFAULT.encode(
        event, metadata, event_type=event_type, event_id=event_id, created=created, context=context
    )


def _with_id(eid_text: str, data: bytes) -> bytes:
    """The JSON object ``data`` with ``"Id"`` as its first key (``data`` has no ``Id``)."""
    head = b'{"Id":"' + eid_text.encode("ascii")
    return head + (b'",' + data[1:] if len(data) > 2 else b'"}')


def _checked_type(name: object) -> str:
    if not isinstance(name, str) or not name or name != name.strip():
        raise InvalidEvent(f"expected a non-empty C# type name, got {name!r}", "event_type")
    if type(name) is str and len(_TYPES) < 4096:
        _TYPES.add(name)
    return name


def _event_id(own: object, given: object, where: str) -> UUID:
    """The event id: the event's own ``id``, else ``given``, else a new UUID4 (E3)."""
    eid = _as_event_id(own, where) if own is not None else None
    if given is not None:
        other = _as_event_id(given, where)
        if eid is not None and other != eid:
            raise InvalidEvent(f"event_id={other} differs from the event's own id {eid}", where)
        eid = other
    return eid if eid is not None else new_event_id()


def _as_event_id(value: object, where: str) -> UUID:
    guid = parse_guid(value)
    if guid is None:
        raise InvalidEvent(f"expected a UUID, got {value!r}", f"{where}.id")
    if guid.int == 0:
        raise InvalidEvent("the nil GUID is not a valid event id", f"{where}.id")
    return guid


def _surrogate_path(value: Any, path: str = "") -> str:
    """Where in a converted value the first string with a lone surrogate is (by wire names)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return ""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        bad = _surrogate_path(key, f"{path}[key {key!r}]") if isinstance(key, str) else ""
        bad = bad or _surrogate_path(
            item, f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
        )
        if bad:
            return bad
    return ""
