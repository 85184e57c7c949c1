"""What the logging handler and the structlog processor share: one options parser, one
dispatch of a captured line or tagged event to the writer, tags, context, log event bodies.

Capture (on the caller's thread) only looks things up and keeps references; building the
``LogRecorded`` body (formatting the message, the traceback, converting extra fields) happens
on the writer's thread, through the specs defined here (they are the writer's ``Builder``).

Capture never raises into the application's logging call: a line that cannot be captured (no
writer configured, a closed writer, a tagged event without a stream, a bad correlation id) is
counted in the entry point's ``failures`` by reason and reported on stderr in one rate-limited
line, and so are the events the writer later drops or dead-letters (``FailureSink``)::

    handler = EventStoreHandler()          # no configure() yet, no PLUMBERD_URL
    logging.getLogger().addHandler(handler)
    logging.getLogger().warning("x", extra={"event": ...})   # no traceback, no exception
    handler.failures                       # Counter({'no_writer': 1})
"""

from __future__ import annotations

import collections
import logging
import operator
import os
import socket
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from plumberd_logging import config
from plumberd_logging._accel import speedups
from plumberd_logging._clock import CACHED_SECONDS
from plumberd_logging._diagnostics import report
from plumberd_logging._guid import parse_guid
from plumberd_logging._options import as_bool
from plumberd_logging._values import JsonReady, ValueConverter, format_epoch_utc
from plumberd_logging.context import CorrelationContext, current_context, derive
from plumberd_logging.errors import InvalidEvent, PlumberdError, QueueFull, WriterClosed
from plumberd_logging.metadata import Metadata
from plumberd_logging.streams import StreamName, stream_name_for, stream_text
from plumberd_logging.writer import EventWriter, Overflow

__all__ = [
    "DEFAULT_IGNORE",
    "LOG_EVENT_TYPE",
    "OVERFLOWS",
    "SERVICE_VAR",
    "Capturing",
    "LogEventSpec",
    "StructlogEventSpec",
    "capture_context",
    "compact_record",
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
OVERFLOWS = ("block", "drop_newest", "drop_oldest", "spool")
# The keys of a structlog line that are not among its Properties (build() pops them).
_STRUCTLOG_TAKEN = TAG_KEYS | {"level", "logger", "exception", "exc_info", "timestamp"}
_HOST = socket.gethostname()
_PID = [os.getpid()]  # this process's id, renewed in a forked child (getpid is a system call)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))
_LOG_JSON = speedups.log_json if speedups is not None else None
_STRUCTLOG_JSON = speedups.structlog_json if speedups is not None else None
_context = current_context
#: How many attributes a ``LogRecord`` has before ``extra`` adds its own.
_PLAIN_RECORD_SIZE = len(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)
_pick = operator.itemgetter(
    "name", "levelname", "msg", "args", "created", "exc_info", "exc_text",
    "threadName", "process", "module", "funcName", "lineno",
)  # fmt: skip
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
    """The context to store with an event: :func:`~plumberd_logging.context.derive` from the
    active one and the ``correlation_id``, ``causation_id`` and ``user_id`` of ``fields`` (a
    record's ``extra``, an event dict). A root event's user goes in its metadata (its ids are
    its own, known once encoded)."""
    if "correlation_id" not in fields and "causation_id" not in fields and "user_id" not in fields:
        return current_context(), None
    user = fields.get("user_id")
    if user is not None and not isinstance(user, str):
        user = str(user)
    ctx = derive(
        current_context(),
        _uuid(fields.get("correlation_id"), "correlation_id"),
        _uuid(fields.get("causation_id"), "causation_id"),
        user,
    )
    if ctx is None and user is not None:
        return None, Metadata(UserId=user)
    return ctx, None


class _Refused(Exception):
    """A line or event the entry point could not capture, with the reason it is counted under."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Capturing:
    """What ``EventStoreHandler`` and ``EventStoreProcessor`` share: one options parser
    (:meth:`_setup`), one dispatch (:meth:`_dispatch`) and the failure counts.

    ``failures`` counts, by reason, what was captured but never written: refused at capture
    (``no_writer``, ``closed``, ``queue_full``, ``stream``, ``invalid``, ``capture``) or later by
    the writer (the reasons of its ``stats()``: ``queue_full``, ``invalid``, ``too_large``...,
    ``closed``). The entry point is the writer's ``FailureSink`` for what it submits.
    """

    _who: str
    _writer: EventWriter | None
    _owns_writer: bool
    _spec: LogEventSpec
    _stream_what: str
    capture_logs: bool
    default_stream: str | None
    event_overflow: Overflow | None
    failures: collections.Counter[str]
    _failures_lock: threading.Lock

    def _setup(
        self,
        who: str,
        spec_cls: type[LogEventSpec],
        *,
        url: str | None,
        writer: EventWriter | None,
        writer_options: Mapping[str, Any],
        capture_logs: object,
        service: str | None,
        log_stream: str | None,
        log_event_type: str,
        default_stream: str | None,
        log_overflow: object,
        event_overflow: object,
        stream_what: str,
    ) -> None:
        """Validate the options both entry points take (naming the bad one) and keep them."""
        self._who = who
        self.capture_logs = as_bool(capture_logs, f"{who}(capture_logs=...)")
        log_policy = _overflow(log_overflow, f"{who}(log_overflow=...)")
        assert log_policy is not None
        self.event_overflow = _overflow(event_overflow, f"{who}(event_overflow=...)", none=True)
        if default_stream is not None:
            default_stream = stream_text(str(default_stream), what=f"{who}(default_stream=...)")
        self.default_stream = default_stream
        self._spec = spec_cls(service, log_stream, log_event_type, log_policy, who)
        self._stream_what = stream_what
        self.failures = collections.Counter()
        self._failures_lock = threading.Lock()
        self._writer, self._owns_writer = resolve_writer(url, writer, writer_options, who)

    @property
    def writer(self) -> EventWriter:
        """The writer events go to (the default writer unless one was given)."""
        return self._writer if self._writer is not None else config.default_writer()

    def _dispatch(
        self, fields: Mapping[str, Any], event: object, created: float, payload: object
    ) -> None:
        """Submit a tagged ``event``, an ``event_type``/``event_data`` tag of ``fields``, or
        (neither) the log line ``payload``; never raises (failures are counted and reported)."""
        try:
            if "correlation_id" in fields or "causation_id" in fields or "user_id" in fields:
                ctx, meta = capture_context(fields)
            else:  # capture_context's common case, inline: this runs for every line
                ctx, meta = _context(), None
            writer = self._writer
            if writer is None:
                try:
                    writer = config.default_writer()
                except PlumberdError as exc:
                    raise _Refused("no_writer", str(exc)) from None
            if event is not None:
                writer.submit_deferred(
                    self._tagged_stream(event, fields),
                    event,
                    overflow=self.event_overflow,
                    metadata=meta,
                    created=created,
                    context=ctx,
                    sink=self,
                )
            elif "event_type" in fields:
                data = fields.get("event_data")
                writer.submit_deferred(
                    self._tagged_stream(None, fields),
                    {} if data is None else data,
                    event_type=str(fields["event_type"]),
                    overflow=self.event_overflow,
                    metadata=meta,
                    created=created,
                    context=ctx,
                    sink=self,
                )
            else:
                spec = self._spec
                writer.submit_deferred(
                    spec.stream,
                    payload,
                    spec,
                    overflow=spec.overflow,
                    metadata=meta,
                    created=created,
                    context=ctx,
                    sink=self,
                )
        except _Refused as exc:
            self._refused(exc.reason, str(exc))
        except WriterClosed as exc:
            self._refused("closed", f"the writer is closed: {exc}")
        except QueueFull as exc:
            self._refused("queue_full", str(exc))
        except InvalidEvent as exc:
            self._refused("invalid", str(exc))
        except Exception as exc:
            self._refused("capture", f"{type(exc).__name__}: {exc}")

    def _tagged_stream(self, event: object, fields: Mapping[str, Any]) -> str:
        what = self._stream_what
        try:
            name: object
            if event is not None:
                name = tagged_stream(event, fields.get("stream"), self.default_stream, what)
            else:
                name = fields.get("stream") or self.default_stream
                if name is None:
                    raise PlumberdError(
                        f"an event_type tag needs {what} (or the default_stream option)"
                    )
            return stream_text(str(name), what=what)
        except (PlumberdError, ValueError, TypeError) as exc:
            raise _Refused("stream", str(exc)) from None

    def _refused(self, reason: str, message: str) -> None:
        self._count(reason)
        report(
            f"{self._who}:{reason}:{id(self)}",
            f"{self._who}: not written ({reason}): {message}; counted in .failures[{reason!r}]",
        )

    def _count(self, reason: str) -> None:
        with self._failures_lock:
            self.failures[reason] += 1

    def failed(self, reason: str, exc: BaseException) -> None:
        """``FailureSink``: the writer dropped or dead-lettered one of our events (it reports
        that on stderr itself)."""
        self._count(reason)


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

    def build(self, payload: tuple[Any, ...] | logging.LogRecord) -> tuple[object, str | None]:
        """The ``LogRecorded`` body (JSON-ready values) of what :func:`compact_record` kept of
        a record (or of the ``logging.LogRecord`` itself)."""
        if isinstance(payload, tuple):
            (name, level, msg, args, created, exc_info, exc_text,
             thread, process, module, fn, line) = payload  # fmt: skip
            message = _format(msg, args)
            properties: dict[str, Any] = {}  # compact records carry no extra
        else:
            r = payload
            (name, level, msg, created, exc_info, exc_text,
             thread, process, module, fn, line) = (
                r.name, r.levelname, r.msg, r.created, r.exc_info, r.exc_text,
                r.threadName, r.process, r.module, r.funcName, r.lineno,
            )  # fmt: skip
            message = _message(r)
            properties = safe_properties(
                (k, v) for k, v in r.__dict__.items() if k not in RECORD_ATTRS and k not in TAG_KEYS
            )
        exc = None
        if exc_info and exc_info[0] is not None:
            exc = exception_fields(exc_info[1])
        elif exc_text:
            exc = {"Type": None, "Message": None, "StackTrace": exc_text}
        body = JsonReady(
            Level=level,
            Logger=name,
            Message=message,
            Template=msg if type(msg) is str else str(msg),
            Timestamp=format_epoch_utc(created),
            Exception=exc,
            Thread=thread,
            Process=process,
            Host=_HOST,
            Service=self.service,
            Module=module,
            Function=fn,
            Line=line,
            Properties=properties,
        )
        return body, self.event_type

    def build_json(self, payload: object, event_id: str) -> tuple[bytes, str] | None:
        """:meth:`build`'s body as JSON (``"Id": event_id`` first), written by the C
        accelerator; None when it is not built or leaves this line to :meth:`build` (an
        exception, a ``LogRecord`` kept whole, a new second, odd values). Same bytes either way.
        """
        if _LOG_JSON is None:
            return None
        data = _LOG_JSON(payload, event_id, self.service, _HOST, CACHED_SECONDS[True])
        return None if data is None else (data, self.event_type)


def compact_record(record: logging.LogRecord) -> tuple[Any, ...] | logging.LogRecord:
    """What :meth:`LogEventSpec.build` needs of a plain record, as one tuple, so the queue does
    not keep the ``LogRecord`` (and its ``__dict__``) alive; a record with ``extra`` fields, or
    of a ``LogRecord`` subclass (its own ``getMessage``), is kept as it is."""
    attrs = record.__dict__
    if len(attrs) > _PLAIN_RECORD_SIZE or type(record) is not logging.LogRecord:
        return record
    picked: tuple[Any, ...] = _pick(attrs)
    return picked


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
            Process=_PID[0],
            Host=_HOST,
            Service=self.service,
            Properties=safe_properties(d.items()),
        )
        return body, self.event_type

    def build_json(self, payload: object, event_id: str) -> tuple[bytes, str] | None:
        """:meth:`build`'s body as JSON, written by the C accelerator (without changing the
        payload), else None: the same bytes either way."""
        if _STRUCTLOG_JSON is None:
            return None
        data = _STRUCTLOG_JSON(
            payload,
            event_id,
            self.service,
            _HOST,
            CACHED_SECONDS[True],
            _PID[0],
            _STRUCTLOG_TAKEN,
        )
        return None if data is None else (data, self.event_type)


def _overflow(value: object, name: str, *, none: bool = False) -> Overflow | None:
    if value is None and none:
        return None
    if value in OVERFLOWS:
        return value  # type: ignore[return-value]
    allowed = ", ".join(OVERFLOWS) + (" or None" if none else "")
    raise ValueError(f"{name}: expected one of {allowed}, got {value!r}")


def tagged_stream(event: object, stream: object, default: str | None, who: str) -> str:
    """The stream of a tagged event: explicit, else the class rule, else the default."""
    if stream is not None:
        return str(stream)
    rule = stream_name_for(event)
    if rule is not None:
        return rule
    if default is not None:
        return default
    raise PlumberdError(
        f"{who}: no stream for {type(event).__name__}; pass stream=..., declare the class "
        "with category=..., or configure default_stream=..."
    )


def _format(msg: object, args: object) -> str:
    """``LogRecord.getMessage`` on the parts a compact record keeps."""
    text = str(msg)
    if args:
        try:
            return text % args
        except Exception as exc:
            return f"{msg!r} % {args!r} (formatting failed: {type(exc).__name__}: {exc})"
    return text


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
