"""``Metadata``: the JSON object stored beside each event, in the keys C# MicroPlumberd reads.

    Metadata()                                    # the standard keys only
    Metadata(Source="camera-7")                   # plus custom keys (merged last)
    Metadata(**{"$causationId": command_id})      # override a standard key, validated

Standard keys (wire-format.md E5): ``Created`` (the capture time, aware, local offset),
``ClientHostName``, ``$correlationId`` and ``$causationId`` (GUID strings, never null, both or
neither: the event's own id for a root event, else from the active correlation context), and
``UserId`` when the context has a user. Reserved keys are checked when ``Metadata`` is built, so a
bad value fails in your code, not as a poison event in a C# subscription.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, Literal
from uuid import UUID

from plumberd_logging._accel import speedups
from plumberd_logging._clock import CACHED_SECONDS as _SECONDS
from plumberd_logging._clock import format_timestamp
from plumberd_logging._guid import parse_guid
from plumberd_logging._ids import id_text
from plumberd_logging._values import JsonNumber, ValueConverter, format_datetime
from plumberd_logging.context import CorrelationContext, current_context
from plumberd_logging.errors import InvalidEvent

__all__ = [
    "Metadata",
    "RootCorrelation",
    "build_metadata",
    "format_created",
    "standard_metadata_json",
]

RootCorrelation = Literal["event_id", "omit"]

CORRELATION_ID = "$correlationId"
CAUSATION_ID = "$causationId"

_CREATED_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,16})?)?(Z|[+-]\d{2}:\d{2})$"
)
_DEFAULT_CONVERTER = ValueConverter()
_HOST: list[str] = []
_HOST_JSON: list[str] = []


class Metadata:
    """Custom metadata for an event; the standard keys are added when the event is written.

    Compatible with py-micro-plumberd: ``Metadata(**custom)``, ``Metadata.default()`` and
    ``enrich(event_id) -> dict``.
    """

    __slots__ = ("_custom",)

    def __init__(self, **custom: Any) -> None:
        self._custom = {key: _check_custom(key, value) for key, value in custom.items()}

    @staticmethod
    def default() -> Metadata:
        """Metadata with no custom keys."""
        return Metadata()

    @property
    def custom(self) -> Mapping[str, Any]:
        """The custom keys, already in their JSON form."""
        return self._custom

    def enrich(
        self,
        event_id: UUID | str,
        *,
        created: float | datetime | None = None,
        context: CorrelationContext | None = None,
    ) -> dict[str, Any]:
        """The complete metadata of event ``event_id``, as written (JSON-ready values).

        ``context`` defaults to the active correlation context.
        """
        meta = build_metadata(
            _event_uuid(event_id),
            self._custom,
            created=created,
            context=context if context is not None else current_context(),
        )
        return {key: _unmark(value) for key, value in meta.items()}

    def __repr__(self) -> str:
        return f"Metadata({', '.join(f'{k!r}: {v!r}' for k, v in self._custom.items())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Metadata) and other._custom == self._custom

    __hash__ = None  # type: ignore[assignment]


def format_created(created: float | datetime | None = None) -> str:
    """``Created``: an aware timestamp in the local offset, at most 7 fraction digits."""
    if created is None:
        created = time.time()
    if isinstance(created, datetime):
        if created.utcoffset() is None:
            raise InvalidEvent("Created: naive datetime; pass an aware one")
        return format_datetime(created, utc_as_z=False)
    return format_timestamp(created, utc=False)


def build_metadata(
    event_id: UUID | str,
    custom: Mapping[str, Any] | None,
    *,
    created: float | datetime | None,
    context: CorrelationContext | None,
    root_correlation: RootCorrelation = "event_id",
    client_host_name: bool = True,
) -> dict[str, Any]:
    """The metadata dict of one event: standard keys, then ``custom`` (already validated)."""
    meta: dict[str, Any] = {"Created": format_created(created)}
    if client_host_name:
        meta["ClientHostName"] = _host_name()
    if context is not None:
        meta[CORRELATION_ID] = str(context.correlation_id)
        meta[CAUSATION_ID] = str(context.causation_id)
        if context.user_id is not None:
            meta["UserId"] = context.user_id
    elif root_correlation == "event_id":
        meta[CORRELATION_ID] = meta[CAUSATION_ID] = (
            event_id if isinstance(event_id, str) else str(event_id)
        )
    if custom:
        meta.update(custom)
        if (CORRELATION_ID in meta) != (CAUSATION_ID in meta):
            given = CORRELATION_ID if CORRELATION_ID in custom else CAUSATION_ID
            raise InvalidEvent(
                f"{given} given without its partner; C# correlation views need "
                f"{CORRELATION_ID} and {CAUSATION_ID} together",
                "Metadata",
            )
    return meta


def host_json() -> str:
    """The ``,"ClientHostName":"..."`` member of standard metadata JSON (this machine's name)."""
    if not _HOST_JSON:
        _HOST_JSON.append(f',"ClientHostName":{encode_basestring(_host_name())}')
    return _HOST_JSON[0]


def standard_metadata_json(
    event_id: str,
    created: float | None,
    context: CorrelationContext | None,
    root_correlation: RootCorrelation = "event_id",
    client_host_name: bool = True,
) -> bytes:
    """The JSON bytes of :func:`build_metadata` when there are no custom keys, written directly.

    Byte for byte what the general path produces (same keys, same order, same escaping); most
    events (every log line) take this path, so it skips building and encoding a dict.
    """
    if created is None:
        created = time.time()
    host = host_json() if client_host_name else ""
    if _STANDARD_JSON is not None and (context is not None or root_correlation == "event_id"):
        made = _STANDARD_JSON(event_id, created, _SECONDS[False], host, context)
        if made is not None:  # the C twin of what follows (no user id, the cached second)
            return made
    stamp = format_timestamp(created, utc=False)
    if context is not None:
        user = context.user_id
        return (
            f'{{"Created":"{stamp}"{host},"$correlationId":"{id_text(context.correlation_id)}",'
            f'"$causationId":"{id_text(context.causation_id)}"'
            + (f',"UserId":{encode_basestring(user)}}}' if user is not None else "}")
        ).encode()
    if root_correlation == "event_id":
        return (
            f'{{"Created":"{stamp}"{host},"$correlationId":"{event_id}",'
            f'"$causationId":"{event_id}"}}'
        ).encode()
    return f'{{"Created":"{stamp}"{host}}}'.encode()


_STANDARD_JSON = speedups.standard_json if speedups is not None else None


def custom_metadata(metadata: Metadata | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Validated custom keys from a ``Metadata``, a plain mapping, or ``None``."""
    if metadata is None or isinstance(metadata, Metadata):
        return metadata.custom if metadata is not None else None
    if isinstance(metadata, Mapping):
        return Metadata(**metadata).custom
    raise TypeError(f"metadata: expected Metadata, a dict or None, got {type(metadata).__name__}")


def _unmark(value: Any) -> Any:
    """Exact-text numbers are kept as ``JsonNumber`` until JSON is written; give the number."""
    if type(value) is JsonNumber:
        return value.value
    if isinstance(value, list):
        return [_unmark(v) for v in value]
    if isinstance(value, dict):
        return {k: _unmark(v) for k, v in value.items()}
    return value


def _host_name() -> str:
    if not _HOST:
        _HOST.append(socket.gethostname())
    return _HOST[0]


def _event_uuid(event_id: UUID | str) -> UUID:
    guid = parse_guid(event_id if isinstance(event_id, UUID) else str(event_id))
    if guid is None:
        raise InvalidEvent(f"expected a GUID, got {event_id!r}", "event_id")
    return guid


def _guid_text(key: str, value: object, *, nil_ok: bool = True) -> str:
    guid = parse_guid(value)
    if guid is None:
        hint = " (omit the key instead of sending null)" if value is None else ""
        raise InvalidEvent(f"expected a GUID, got {value!r}{hint}", f"Metadata[{key!r}]")
    if not nil_ok and guid.int == 0:
        raise InvalidEvent("the nil GUID is not allowed", f"Metadata[{key!r}]")
    return str(guid)


def _check_custom(key: object, value: Any) -> Any:
    if not isinstance(key, str) or not key:
        raise InvalidEvent(f"metadata keys must be non-empty strings, got {key!r}", "Metadata")
    where = f"Metadata[{key!r}]"
    if key in (CORRELATION_ID, CAUSATION_ID):
        return _guid_text(key, value)
    if key == "SessionId":
        return _guid_text(key, value, nil_ok=False)
    if key == "Created":
        if isinstance(value, datetime):
            return format_created(value)
        if isinstance(value, str) and _CREATED_RE.match(value):
            return value
        raise InvalidEvent(
            f"expected an aware datetime or an ISO 8601 string with an offset, got {value!r}", where
        )
    if key == "UserId" and not (value is None or isinstance(value, str)):
        raise InvalidEvent(f"expected a str or None, got {value!r}", where)
    if key == "RecipientId":
        if isinstance(value, UUID):
            return str(value)
        if not isinstance(value, str) or not value:
            raise InvalidEvent(f"expected a non-empty str or UUID, got {value!r}", where)
    if key == "SnapshotVersion" and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidEvent(f"expected an int, got {value!r}", where)
    if key == "SourceStreamId" and not isinstance(value, str):
        raise InvalidEvent(f"expected a stream name (str), got {value!r}", where)
    try:
        return _DEFAULT_CONVERTER.convert(value)
    except InvalidEvent as exc:
        raise InvalidEvent(exc.reason, where + exc.path) from None
