"""What the logging handler and the structlog processor share: tags, context, log event bodies.

Capture (on the caller's thread) only looks things up and keeps references; building the
``LogRecorded`` body (formatting the message, the traceback, converting extra fields) happens
on the writer's thread, through the specs defined here (they are the writer's ``Builder``).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import traceback
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from plumberd_logging._guid import parse_guid
from plumberd_logging._values import JsonReady, ValueConverter, format_epoch_utc
from plumberd_logging.context import CorrelationContext, current_context
from plumberd_logging.errors import InvalidEvent, PlumberdError
from plumberd_logging.metadata import Metadata
from plumberd_logging.streams import StreamName, stream_for
from plumberd_logging.writer import EventWriter, Overflow

__all__ = [
    "DEFAULT_IGNORE",
    "LOG_EVENT_TYPE",
    "SERVICE_VAR",
    "LogEventSpec",
    "StructlogEventSpec",
    "capture_context",
    "default_service",
    "resolve_writer",
]

LOG_EVENT_TYPE = "LogRecorded"
SERVICE_VAR = "PLUMBERD_SERVICE"
#: Loggers whose records never become events: the transport and the library itself.
DEFAULT_IGNORE = ("grpc", "kurrentdbclient", "plumberd_logging")

#: Attributes every ``LogRecord`` has; the others are the caller's ``extra`` fields.
RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
#: ``extra`` keys with a meaning of their own (tags and context), not copied as properties.
TAG_KEYS = frozenset(
    {"event", "event_type", "event_data", "stream", "correlation_id", "causation_id", "user_id"}
)
_HOST = socket.gethostname()
_PROPERTIES = ValueConverter()


def default_service() -> str:
    """``$PLUMBERD_SERVICE``, else the program's name (``python app.py`` -> ``app``)."""
    name = os.environ.get(SERVICE_VAR)
    if name:
        return name
    argv0 = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    stem = argv0.rsplit(".", 1)[0] if argv0.endswith(".py") else argv0
    return stem if stem and stem not in ("-c", "-m", "__main__") else "python"


def resolve_writer(
    url: str | None, writer: EventWriter | None, options: Mapping[str, Any], who: str
) -> tuple[EventWriter | None, bool]:
    """The writer an entry point uses, and whether it owns it (and must close it).

    ``writer`` wins; else a new writer for ``url``; else ``None``: the default writer, looked up
    when the first event arrives (so configuring logging before ``configure()`` works).
    """
    if writer is not None:
        if url is not None or options:
            raise ValueError(f"{who}: pass either writer=... or url=... with writer options")
        if not isinstance(writer, EventWriter):
            raise TypeError(f"{who}(writer=...): expected an EventWriter, got {writer!r}")
        return writer, False
    if url is not None:
        return EventWriter(url, **options), True
    if options:
        raise ValueError(f"{who}: writer options need url=... (or configure() the default writer)")
    return None, False


def capture_context(
    fields: Mapping[str, Any],
) -> tuple[CorrelationContext | None, Metadata | None]:
    """The context to store with an event: the active one, overridden by the ``correlation_id``,
    ``causation_id`` and ``user_id`` of ``fields`` (a record's ``extra``, an event dict)."""
    if "correlation_id" not in fields and "causation_id" not in fields and "user_id" not in fields:
        return current_context(), None
    return _explicit_context(
        fields.get("correlation_id"), fields.get("causation_id"), fields.get("user_id")
    )


def _explicit_context(
    correlation_id: object, causation_id: object, user_id: object
) -> tuple[CorrelationContext | None, Metadata | None]:
    ctx = current_context()
    if correlation_id is None and causation_id is None and user_id is None:
        return ctx, None
    corr = _uuid(correlation_id, "correlation_id")
    cause = _uuid(causation_id, "causation_id")
    if user_id is not None and not isinstance(user_id, str):
        user_id = str(user_id)
    if corr is None and cause is None:
        if ctx is None:  # a root event with a user: ids from the event itself
            return None, Metadata(UserId=user_id)
        return CorrelationContext(ctx.correlation_id, ctx.causation_id, user_id), None
    corr = corr or (ctx.correlation_id if ctx is not None else cause)
    cause = cause or (ctx.causation_id if ctx is not None else corr)
    assert corr is not None
    assert cause is not None
    user = user_id if user_id is not None else (ctx.user_id if ctx is not None else None)
    return CorrelationContext(corr, cause, user), None


class LogEventSpec:
    """How stdlib log records become events: type, stream, overflow policy, and the builder
    (:meth:`build`) the writer calls on its own thread."""

    __slots__ = ("event_type", "overflow", "service", "stream")

    def __init__(
        self,
        service: str | None,
        stream: str | None,
        event_type: str,
        overflow: Overflow,
        who: str,
    ) -> None:
        self.service = service if service is not None else default_service()
        if not isinstance(self.service, str) or not self.service:
            raise ValueError(f"{who}(service=...): expected a non-empty str, got {service!r}")
        self.stream = stream if stream is not None else str(StreamName("Log", self.service))
        if not isinstance(event_type, str) or not event_type:
            raise ValueError(f"{who}(log_event_type=...): expected a non-empty str")
        self.event_type = event_type
        self.overflow: Overflow = overflow

    def build(self, record: logging.LogRecord) -> tuple[object, str | None]:
        """The ``LogRecorded`` body of a ``logging.LogRecord`` (JSON-ready values)."""
        r = record
        exc = None
        if r.exc_info and r.exc_info[0] is not None:
            exc = exception_fields(r.exc_info[1])
        elif r.exc_text:
            exc = {"Type": None, "Message": None, "StackTrace": r.exc_text}
        body = JsonReady(
            Level=r.levelname,
            Logger=r.name,
            Message=_message(r),
            Template=str(r.msg),
            Timestamp=format_epoch_utc(r.created),
            Exception=exc,
            Thread=r.threadName,
            Process=r.process,
            Host=_HOST,
            Service=self.service,
            Module=r.module,
            Function=r.funcName,
            Line=r.lineno,
            Properties=safe_properties(
                (k, v) for k, v in r.__dict__.items() if k not in RECORD_ATTRS and k not in TAG_KEYS
            ),
        )
        return body, self.event_type


class StructlogEventSpec(LogEventSpec):
    """Like :class:`LogEventSpec`, for structlog lines: the payload is
    ``(event_dict, method_name, created, thread_name)``."""

    __slots__ = ()

    def build(self, payload: tuple[dict[str, Any], str, float, str]) -> tuple[object, str | None]:  # type: ignore[override]
        d, method, created, thread = payload
        message = d.pop("event", "")
        level = d.pop("level", None) or method
        exc = structured_exception(d.pop("exception", None), d.pop("exc_info", None))
        d.pop("timestamp", None)
        for key in TAG_KEYS:
            d.pop(key, None)
        body = JsonReady(
            Level=str(level).upper(),
            Logger=str(d.pop("logger", "") or ""),
            Message=str(message),
            Template=str(message),
            Timestamp=format_epoch_utc(created),
            Exception=exc,
            Thread=thread,
            Process=os.getpid(),
            Host=_HOST,
            Service=self.service,
            Properties=safe_properties(d.items()),
        )
        return body, self.event_type


def tagged_stream(event: object, stream: object, default: str | None, who: str) -> str:
    """The stream of a tagged event: explicit, else the class rule, else the default."""
    if stream is not None:
        return str(stream)
    rule = stream_for(event)
    if rule is not None:
        return rule
    if default is not None:
        return default
    raise PlumberdError(
        f"{who}: no stream for {type(event).__name__}; pass stream=..., declare the class "
        "with category=..., or configure default_stream=..."
    )


def _message(record: logging.LogRecord) -> str:
    """``record.getMessage()``, or a readable fallback when the arguments do not fit."""
    try:
        return record.getMessage()
    except Exception as exc:
        return f"{record.msg!r} % {record.args!r} (formatting failed: {type(exc).__name__}: {exc})"


def exception_fields(exc: BaseException | None) -> dict[str, Any] | None:
    """``{Type, Message, StackTrace}`` of an exception (the text of its traceback)."""
    if exc is None:
        return None
    return {
        "Type": type(exc).__name__,
        "Message": str(exc),
        "StackTrace": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def structured_exception(exception: object, exc_info: object) -> dict[str, Any] | None:
    """The exception of a structlog event: ``dict_tracebacks`` output is kept structured."""
    if isinstance(exception, list) and exception and isinstance(exception[-1], dict):
        last = exception[-1]  # dict_tracebacks: a list of {exc_type, exc_value, frames, ...}
        return {
            "Type": str(last.get("exc_type", "")),
            "Message": str(last.get("exc_value", "")),
            "StackTrace": _frames_text(exception),
            "Chain": safe_properties([("Chain", exception)])["Chain"],
        }
    if isinstance(exception, str):  # format_exc_info already ran
        return {"Type": None, "Message": None, "StackTrace": exception}
    if isinstance(exc_info, BaseException):
        return exception_fields(exc_info)
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exception_fields(exc_info[1])
    if exc_info is True:
        return exception_fields(sys.exc_info()[1])
    return None


def _frames_text(chain: list[Any]) -> str:
    lines = []
    for exc in chain:
        if not isinstance(exc, dict):
            continue
        for frame in exc.get("frames", ()):
            if isinstance(frame, dict):
                lines.append(
                    f'  File "{frame.get("filename")}", line {frame.get("lineno")}, '
                    f"in {frame.get('name')}"
                )
        lines.append(f"{exc.get('exc_type')}: {exc.get('exc_value')}")
    return "\n".join(lines)


def safe_properties(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Extra fields as JSON-ready values; a value the codec refuses is written as its text.

    A log line must never be lost because one of its extra fields is odd (a naive datetime, a
    socket, NaN), so such values become ``str(value)``.
    """
    out: dict[str, Any] = {}
    for key, value in items:
        try:
            out[str(key)] = _PROPERTIES.convert(value)
        except InvalidEvent:
            try:
                out[str(key)] = str(value)
            except Exception:
                out[str(key)] = f"<unprintable {type(value).__name__}>"
    return out


def _uuid(value: object, what: str) -> UUID | None:
    if value is None:
        return None
    guid = parse_guid(value if isinstance(value, UUID) else str(value))
    if guid is None:
        raise InvalidEvent(f"expected a GUID, got {value!r}", what)
    return guid
