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
on the caller's thread (no formatting, no encoding, no I/O there; a plain record is reduced to a
tuple, so the queue does not keep it alive); a record that cannot be written never raises and
prints no traceback (one stderr line per reason, counted in ``handler.failures``); records from
grpc, kurrentdbclient and plumberd_logging itself, and any record logged on the writer's own
thread, never come back in; ``flush``/``close`` never wait on the writer while ``logging`` holds
its module lock (``dictConfig`` does), so they cannot deadlock. Attached to the root logger, the
handler says once (at its first ``flush``, at the latest at exit) when the root's level kept
every record from it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from plumberd_logging._capture import (
    DEFAULT_IGNORE,
    LOG_EVENT_TYPE,
    Capturing,
    LogEventSpec,
    compact_record,
)
from plumberd_logging._diagnostics import _local as _thread
from plumberd_logging._diagnostics import report
from plumberd_logging._options import non_negative_seconds
from plumberd_logging.config import configured_writer
from plumberd_logging.writer import EventWriter, Overflow

__all__ = ["EventStoreHandler"]

compact = compact_record
_guard = _thread  # the old name; benchmarks/bench_handler.py --breakdown still times a read of it


class EventStoreHandler(Capturing, logging.Handler):
    """Writes tagged log records (and, optionally, every record) to EventStoreDB/KurrentDB.

    ``url`` creates the handler's own writer (``writer_options`` go to it, and the handler closes
    it); ``writer`` shares one; neither uses the default writer (``configure()``).
    ``capture_logs``: every record at or above ``level`` becomes a ``log_event_type`` event
    in ``log_stream`` (default ``Log-{service}``; ``service`` defaults to ``$PLUMBERD_SERVICE``
    or the program's name). ``default_stream`` is used for tagged events whose class has no
    stream rule. ``log_overflow`` (default ``drop_newest``: a full queue drops log lines, counted)
    and ``event_overflow`` (default: the writer's policy, ``block`` then ``QueueFull``) apply when
    the writer's queue is full. ``ignore``: logger names (and their children) never captured.

    A record that cannot be written never raises and prints no traceback: one stderr line per
    reason (rate limited) and a count in ``failures`` (``Counter`` by reason), which also
    counts the events the writer drops or dead-letters later.
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
        if isinstance(ignore, str):
            raise TypeError("EventStoreHandler(ignore=...): expected a list of logger names")
        self.flush_timeout = non_negative_seconds(
            flush_timeout, "EventStoreHandler(flush_timeout=...)"
        )
        super().__init__(level)
        self._setup(
            "EventStoreHandler",
            LogEventSpec,
            url=url,
            writer=writer,
            writer_options=writer_options,
            capture_logs=capture_logs,
            service=service,
            log_stream=log_stream,
            log_event_type=log_event_type,
            default_stream=default_stream,
            log_overflow=log_overflow,
            event_overflow=event_overflow,
            stream_what="extra['stream']",
        )
        self._ignore = tuple(ignore)
        self._ignored: dict[str, bool] = {}
        self._seen = False  # a record reached emit (for the level check at exit)
        self._level_warned = False

    def handle(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
        """Filter, then emit without the handler lock: the writer is thread-safe."""
        rv: object = self.filter(record) if self.filters else True
        if rv:
            self.emit(rv if isinstance(rv, logging.LogRecord) else record)  # 3.12+: replaced
        return rv  # type: ignore[return-value]

    def emit(self, record: logging.LogRecord) -> None:
        """Capture ``record``: a reference and a few lookups; the rest is the writer's job."""
        self._seen = True
        attrs = record.__dict__
        event = attrs.get("event")
        if event is None and not self.capture_logs and "event_type" not in attrs:
            return  # the common case: an untagged line, not captured
        thread = _thread  # one thread-local: the writer's own threads, and "we are emitting"
        if thread.ours:
            return  # our own transport logging on our thread, or a record logged while we emit
        name = record.name
        ignored = self._ignored.get(name)
        if ignored is None:
            ignored = self._ignored[name] = any(
                name == p or name.startswith(p + ".") for p in self._ignore
            )
        if ignored:
            return
        thread.ours = True
        try:
            tagged = event is not None or "event_type" in attrs
            self._dispatch(attrs, event, record.created, None if tagged else compact(record))
        finally:
            thread.ours = False

    def flush(self) -> None:
        """Wait (up to ``flush_timeout``) until captured events are written, in the handler's
        writer or the default one.

        Returns at once when called with ``logging``'s module lock held (``dictConfig`` and
        ``logging.shutdown`` paths), since the writer's thread may need that lock itself.
        """
        locked = _logging_lock_held()
        if not locked:  # not during a dictConfig reconfiguration: its new levels are not set yet
            self._check_level()
        writer = self._writer if self._writer is not None else configured_writer()
        if writer is not None:
            writer.flush(0 if locked else self.flush_timeout)

    def close(self) -> None:
        """Detach; a writer the handler created is closed (delivering what it holds)."""
        try:
            if self._owns_writer and self._writer is not None:
                self._writer.close(0 if _logging_lock_held() else self.flush_timeout)
        finally:
            super().close()

    def _check_level(self) -> None:
        """Once: say so when, attached to the root logger, no record ever reached us because the
        root's level is above ours (the quick start that "writes nothing")."""
        if not self._seen and not self._level_warned:
            self._level_warned = warn_level_blocks(self)

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        target = repr(self._writer) if self._writer is not None else "default writer"
        return f"<EventStoreHandler {target} ({level})>"


def warn_level_blocks(handler: logging.Handler) -> bool:
    """One stderr line when ``handler`` is on the root logger and the root's effective level
    drops the records it is there for (its own level; ``INFO`` when it has none).

    Returns whether the line was written. ``install()``, ``plumberd run`` and the handler's
    first ``flush()`` (at the latest ``logging.shutdown()`` at exit) call it.
    """
    root = logging.getLogger()
    if handler not in root.handlers:
        return False
    wanted = handler.level if handler.level != logging.NOTSET else logging.INFO
    effective = root.getEffectiveLevel()
    if effective <= wanted:
        return False
    name, want_name = logging.getLevelName(effective), logging.getLevelName(wanted)
    return report(
        f"level:{id(handler)}",
        f"the root logger's level is {name}, so {want_name} records never reach "
        f"{type(handler).__name__} (and are not written); lower it, e.g. "
        f"logging.basicConfig(level=logging.{want_name}) or "
        f"logging.getLogger().setLevel(logging.{want_name})",
    )


def _logging_lock_held() -> bool:
    lock = getattr(logging, "_lock", None)
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if callable(is_owned) else False
