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

from plumberd_logging._capture import LOG_EVENT_TYPE, Capturing, StructlogEventSpec
from plumberd_logging._diagnostics import _local as _thread
from plumberd_logging._options import as_bool
from plumberd_logging.writer import EventWriter, Overflow

__all__ = ["EventStoreProcessor"]

EventDict = MutableMapping[str, Any]


class EventStoreProcessor(Capturing):
    """A structlog processor; place it after ``merge_contextvars`` and before the renderer.

    Options mirror :class:`~plumberd_logging.EventStoreHandler` (the same parser validates
    them): ``url`` (own writer, with ``writer_options``) or ``writer`` (shared) or neither (the
    default writer); ``capture_logs``, ``service``, ``log_stream``, ``log_event_type``,
    ``default_stream``, ``log_overflow``, ``event_overflow``; and ``drop`` to end the chain here.
    A line that cannot be written never raises into the logging call: it is counted in
    ``failures`` and reported in one stderr line (see ``EventStoreHandler``).
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
        self.drop = as_bool(drop, "EventStoreProcessor(drop=...)")
        self._setup(
            "EventStoreProcessor",
            StructlogEventSpec,
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
            stream_what="stream=...",
        )

    def __call__(self, logger: object, method_name: str, event_dict: EventDict) -> EventDict:
        domain = event_dict.get("domain_event")
        if domain is not None or "event_type" in event_dict:
            if not _thread.ours:  # never capture on the writer's own threads
                self._dispatch(event_dict, domain, time.time(), None)
        elif self.capture_logs and not _thread.ours:
            now = time.time()
            payload = (dict(event_dict), method_name, now, threading.current_thread().name)
            self._dispatch(event_dict, None, now, payload)
        if self.drop:
            import structlog

            raise structlog.DropEvent
        return event_dict

    def close(self, timeout: float | None = None) -> bool:
        """Close a writer this processor created; returns whether all its events were written."""
        if self._owns_writer and self._writer is not None:
            return self._writer.close(timeout)
        return True

    def __repr__(self) -> str:
        target = repr(self._writer) if self._writer is not None else "default writer"
        return f"<EventStoreProcessor {target}>"
