"""``EventStoreHandler``: a ``logging.Handler`` whose tagged records become MicroPlumberd events.

    handler = EventStoreHandler("esdb://localhost:2113?tls=false")
    logging.getLogger().addHandler(handler)

    log.info("recording finished", extra={"event": RecordingFinished(...)})      # an event
    log.info("done", extra={"event_type": "RecordingFinished",                  # no class
                            "event_data": {"RecordingId": "r-1"}, "stream": "Recording-r-1"})
    log.info("plain line")          # ignored, unless capture_logs=True: then a LogRecorded event

Or from ``dictConfig``::

    "handlers": {"events": {"class": "plumberd_logging.EventStoreHandler",
                            "url": "esdb://localhost:2113?tls=false", "capture_logs": True}}

What a handler owes its callers (stdlib ``logging.handlers`` habits): the record is only looked at
on the caller's thread (no formatting, no encoding, no I/O there); failures at capture go to
``handleError``; records from grpc, kurrentdbclient and plumberd_logging itself, and any record
logged on the writer's own thread, never come back in; ``flush``/``close`` never wait on the
writer while ``logging`` holds its module lock (``dictConfig`` does), so they cannot deadlock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from plumberd_logging._capture import (
    DEFAULT_IGNORE,
    LOG_EVENT_TYPE,
    LogEventSpec,
    capture_context,
    resolve_writer,
    tagged_stream,
)
from plumberd_logging._diagnostics import in_library_thread
from plumberd_logging.config import default_writer
from plumberd_logging.streams import stream_text
from plumberd_logging.writer import EventWriter, Overflow

__all__ = ["EventStoreHandler"]


class _Guard(threading.local):
    active = False  # a class default: reading it on a new thread raises nothing


_guard = _Guard()


class EventStoreHandler(logging.Handler):
    """Writes tagged log records (and, optionally, every record) to EventStoreDB/KurrentDB.

    ``url`` creates the handler's own writer (``writer_options`` go to it, and the handler closes
    it); ``writer`` shares one; neither uses the default writer (``configure()``).
    ``capture_logs``: every record at or above ``level`` becomes a ``log_event_type`` event
    in ``log_stream`` (default ``Log-{service}``; ``service`` defaults to ``$PLUMBERD_SERVICE``
    or the program's name). ``default_stream`` is used for tagged events whose class has no
    stream rule. ``log_overflow`` (default ``drop_newest``: a full queue drops log lines, counted)
    and ``event_overflow`` (default: the writer's policy, ``block`` then ``QueueFull``) apply when
    the writer's queue is full. ``ignore``: logger names (and their children) never captured.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        writer: EventWriter | None = None,
        level: int | str = logging.NOTSET,
        capture_logs: bool = False,
        service: str | None = None,
        log_stream: str | None = None,
        log_event_type: str = LOG_EVENT_TYPE,
        default_stream: str | None = None,
        log_overflow: Overflow = "drop_newest",
        event_overflow: Overflow | None = None,
        ignore: Iterable[str] = DEFAULT_IGNORE,
        flush_timeout: float = 5.0,
        **writer_options: Any,
    ) -> None:
        super().__init__(level)
        self._writer, self._owns_writer = resolve_writer(
            url, writer, writer_options, "EventStoreHandler"
        )
        self.capture_logs = _as_bool(capture_logs, "capture_logs")
        self._spec = LogEventSpec(
            service, log_stream, log_event_type, log_overflow, "EventStoreHandler"
        )
        self.default_stream = default_stream
        self.event_overflow: Overflow | None = event_overflow
        if isinstance(ignore, str):
            raise TypeError("EventStoreHandler(ignore=...): expected a list of logger names")
        self._ignore = tuple(ignore)
        self._ignored: dict[str, bool] = {}
        self.flush_timeout = flush_timeout

    @property
    def writer(self) -> EventWriter:
        """The writer records go to (the default writer unless one was given)."""
        return self._writer if self._writer is not None else default_writer()

    def handle(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
        """Filter, then emit without the handler lock: the writer is thread-safe."""
        rv: object = self.filter(record)
        if rv:
            self.emit(rv if isinstance(rv, logging.LogRecord) else record)  # 3.12+: replaced
        return rv  # type: ignore[return-value]

    def emit(self, record: logging.LogRecord) -> None:
        """Capture ``record``: a reference and a few lookups; the rest is the writer's job."""
        attrs = record.__dict__
        event = attrs.get("event")
        if event is None and not self.capture_logs and "event_type" not in attrs:
            return  # the common case: an untagged line, not captured
        if _guard.active or in_library_thread():
            return  # our own transport logging on our thread, or a record logged while we emit
        name = record.name
        ignored = self._ignored.get(name)
        if ignored is None:
            ignored = self._ignored[name] = any(
                name == p or name.startswith(p + ".") for p in self._ignore
            )
        if ignored:
            return
        _guard.active = True
        try:
            ctx, meta = capture_context(attrs)
            writer = self._writer if self._writer is not None else default_writer()
            if event is not None:
                stream = stream_text(
                    tagged_stream(event, attrs.get("stream"), self.default_stream, "extra"),
                    what="extra['stream']",
                )
                writer.submit_deferred(
                    stream,
                    event,
                    overflow=self.event_overflow,
                    metadata=meta,
                    created=record.created,
                    context=ctx,
                )
            elif "event_type" in attrs:
                data = attrs.get("event_data")
                tag_stream = attrs.get("stream") or self.default_stream
                if tag_stream is None:
                    raise ValueError(
                        "a record tagged with event_type needs extra={'stream': ...} "
                        "(or the handler's default_stream)"
                    )
                writer.submit_deferred(
                    stream_text(str(tag_stream), what="extra['stream']"),
                    {} if data is None else data,
                    event_type=str(attrs["event_type"]),
                    overflow=self.event_overflow,
                    metadata=meta,
                    created=record.created,
                    context=ctx,
                )
            else:
                spec = self._spec
                writer.submit_deferred(
                    spec.stream,
                    record,
                    spec,
                    overflow=spec.overflow,
                    metadata=meta,
                    created=record.created,
                    context=ctx,
                )
        except Exception:
            self.handleError(record)
        finally:
            _guard.active = False

    def flush(self) -> None:
        """Wait (up to ``flush_timeout``) until captured events are written.

        Returns at once when called with ``logging``'s module lock held (``dictConfig`` and
        ``logging.shutdown`` paths), since the writer's thread may need that lock itself.
        """
        writer = self._writer
        if writer is not None:
            writer.flush(0 if _logging_lock_held() else self.flush_timeout)

    def close(self) -> None:
        """Detach; a writer the handler created is closed (delivering what it holds)."""
        try:
            if self._owns_writer and self._writer is not None:
                self._writer.close(0 if _logging_lock_held() else self.flush_timeout)
        finally:
            super().close()

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        target = repr(self._writer) if self._writer is not None else "default writer"
        return f"<EventStoreHandler {target} ({level})>"


def _logging_lock_held() -> bool:
    lock = getattr(logging, "_lock", None)
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if callable(is_owned) else False


def _as_bool(value: object, name: str) -> bool:
    """Booleans from dictConfig/fileConfig may arrive as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "1",
        "true",
        "yes",
        "on",
        "0",
        "false",
        "no",
        "off",
    ):
        return value.lower() in ("1", "true", "yes", "on")
    raise ValueError(f"EventStoreHandler({name}=...): expected a bool, got {value!r}")
