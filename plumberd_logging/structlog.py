"""``EventStoreProcessor``: a structlog processor whose tagged calls become MicroPlumberd events.

    structlog.configure(processors=[
        structlog.contextvars.merge_contextvars,     # correlation_id / user_id feed metadata
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        EventStoreProcessor(url="esdb://localhost:2113?tls=false"),
        structlog.processors.JSONRenderer(),        # the renderer comes after us
    ])

    log.info("recording finished", domain_event=RecordingFinished(...), stream="Recording-1")
    log.info("finished", event_type="RecordingFinished", event_data={"RecordingId": "r-1"},
             stream="Recording-r-1")

A domain event travels under ``domain_event`` (never ``event``: that is structlog's message).
The event dict passes on unchanged, so the renderer still prints the line; ``drop=True`` ends
the chain with ``DropEvent`` instead. With ``capture_logs=True`` every line becomes a
``LogRecorded`` event as well (``dict_tracebacks`` output stays structured in its
``Exception``). structlog itself is imported only by the code that uses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import MutableMapping
from typing import Any

from plumberd_logging._capture import (
    LOG_EVENT_TYPE,
    StructlogEventSpec,
    capture_context,
    resolve_writer,
    tagged_stream,
)
from plumberd_logging._diagnostics import in_library_thread
from plumberd_logging.config import default_writer
from plumberd_logging.streams import stream_text
from plumberd_logging.writer import EventWriter, Overflow

__all__ = ["EventStoreProcessor"]

EventDict = MutableMapping[str, Any]


class EventStoreProcessor:
    """A structlog processor; place it after ``merge_contextvars`` and before the renderer.

    Options mirror :class:`~plumberd_logging.EventStoreHandler`: ``url`` (own writer, with
    ``writer_options``) or ``writer`` (shared) or neither (the default writer);
    ``capture_logs``, ``service``, ``log_stream``, ``log_event_type``, ``default_stream``,
    ``log_overflow``, ``event_overflow``; and ``drop`` to end the chain here.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        writer: EventWriter | None = None,
        capture_logs: bool = False,
        drop: bool = False,
        service: str | None = None,
        log_stream: str | None = None,
        log_event_type: str = LOG_EVENT_TYPE,
        default_stream: str | None = None,
        log_overflow: Overflow = "drop_newest",
        event_overflow: Overflow | None = None,
        **writer_options: Any,
    ) -> None:
        self._writer, self._owns_writer = resolve_writer(
            url, writer, writer_options, "EventStoreProcessor"
        )
        self.capture_logs = bool(capture_logs)
        self.drop = bool(drop)
        self._spec = StructlogEventSpec(
            service, log_stream, log_event_type, log_overflow, "EventStoreProcessor"
        )
        self.default_stream = default_stream
        self.event_overflow: Overflow | None = event_overflow

    @property
    def writer(self) -> EventWriter:
        """The writer events go to (the default writer unless one was given)."""
        return self._writer if self._writer is not None else default_writer()

    def __call__(self, logger: object, method_name: str, event_dict: EventDict) -> EventDict:
        domain = event_dict.get("domain_event")
        if (
            domain is not None or "event_type" in event_dict or self.capture_logs
        ) and not in_library_thread():
            self._capture(domain, method_name, event_dict)
        if self.drop:
            import structlog

            raise structlog.DropEvent
        return event_dict

    def _capture(self, domain: object, method_name: str, d: EventDict) -> None:
        ctx, meta = capture_context(d)
        writer = self._writer if self._writer is not None else default_writer()
        if domain is not None:
            stream = tagged_stream(domain, d.get("stream"), self.default_stream, "stream=")
            writer.submit_deferred(
                stream_text(stream, what="stream"),
                domain,
                overflow=self.event_overflow,
                metadata=meta,
                context=ctx,
            )
        elif "event_type" in d:
            tag_stream = d.get("stream") or self.default_stream
            if tag_stream is None:
                raise ValueError("event_type=... needs stream=... (or default_stream)")
            data = d.get("event_data")
            writer.submit_deferred(
                stream_text(str(tag_stream), what="stream"),
                {} if data is None else data,
                event_type=str(d["event_type"]),
                overflow=self.event_overflow,
                metadata=meta,
                context=ctx,
            )
        else:
            spec = self._spec
            now = time.time()
            writer.submit_deferred(
                spec.stream,
                (dict(d), method_name, now, threading.current_thread().name),
                spec,
                overflow=spec.overflow,
                metadata=meta,
                created=now,
                context=ctx,
            )

    def close(self, timeout: float | None = None) -> bool:
        """Close a writer this processor created; returns whether all its events were written."""
        if self._owns_writer and self._writer is not None:
            return self._writer.close(timeout)
        return True

    def __repr__(self) -> str:
        target = repr(self._writer) if self._writer is not None else "default writer"
        return f"<EventStoreProcessor {target}>"
