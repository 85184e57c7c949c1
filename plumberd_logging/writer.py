"""``EventWriter``: a bounded queue and a background thread that batch, append and retry.

    writer = EventWriter("esdb://localhost:2113?tls=false")
    receipt = writer.submit("Recording-1", RecordingFinished(...))   # returns at once
    writer.flush(timeout=5)          # True when everything submitted so far is resolved
    receipt.result(timeout=1)        # the commit position (or the reason it failed)
    writer.close()                   # also done at interpreter exit

Every entry point (the logging handler, the structlog processor, ``@emits``, ``CommandBus``)
writes through a writer, so they share its guarantees:

* ``submit`` only captures (the event, its metadata, the correlation context and the time) and
  queues; encoding and I/O happen on the writer's thread. It never blocks while the queue has
  room; when full, the overflow policy decides (``block`` then ``QueueFull``, ``drop_newest``,
  ``drop_oldest``, ``spool``), and every drop is counted.
* Consecutive events of a stream go out in one atomic append; order per stream is kept; many
  streams share one multi-stream append where the server has it (KurrentDB >= 25.1).
* Transient failures are retried with backoff and the *same event ids*, so the server
  de-duplicates them. A permanent failure dead-letters only the event that caused it (a failing
  batch is split to find it), with ``on_failed``, a counter and a rate-limited stderr line.
* Security and clusters: refused credentials dead-letter with reason ``unauthenticated``, a
  user without the right with ``access_denied`` (every event of that append: access is per
  stream, not per event); both are permanent. A failed TLS handshake (unknown CA, wrong host)
  and "not leader" are retried like an outage, with a stderr line naming the cause and the fix
  (rate limited); after a TLS failure the writer's own connection is rebuilt, so a corrected CA
  file is read again. A leader change is ridden through with ``esdb+discover://`` or a host list.
* With ``spool_path`` every event is on disk before ``submit`` returns, and survives a crash.
* Exit flushes within ``close_timeout`` (no thread is started at exit); so does SIGTERM while
  the application has no handler of its own (then the process ends as SIGTERM would have;
  ``handle_sigterm=False`` or ``PLUMBERD_HANDLE_SIGTERM=false`` turn this off). A forked child
  starts with an empty queue and its own connection. After ``close`` or the exit close, every
  receipt is resolved and the thread, the connection and the spool's lock are released.
* Never silent: every dead letter and drop is counted by reason in ``stats()``; stderr gets the
  first at once and a summary of the rest ("N more ..., by reason: invalid 3") every few seconds
  and at close. An entry point passes a ``sink`` (:class:`FailureSink`) to hear of its own.

Inside, the writer is a buffer (``_buffer``: queue, overflow, stats), a worker (``_worker``:
its thread and shutdown), delivery (``_delivery``: rounds, bisection) over a transport
(``_transport``), and the spool side (``_spill``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from plumberd_logging import _shutdown
from plumberd_logging._buffer import (
    OVERFLOWS,
    SPOOL,
    Buffer,
    Builder,
    FailureSink,
    Overflow,
    Receipt,
)
from plumberd_logging._options import non_negative_seconds, positive_int
from plumberd_logging._retry import RetryPolicy
from plumberd_logging._spill import Spill
from plumberd_logging._transport import ClientTransport, Transport
from plumberd_logging._worker import Options, Worker
from plumberd_logging.client import EventStoreClient
from plumberd_logging.codec import Codec
from plumberd_logging.context import CorrelationContext, current_context
from plumberd_logging.errors import QueueFull, WriterClosed
from plumberd_logging.metadata import Metadata
from plumberd_logging.spool import Spool
from plumberd_logging.streams import (
    ANY,
    StreamState,
    check_expected,
    stream_name_for,
    stream_text,
)

_getpid = os.getpid
# Where os.register_at_fork exists, a forked child resets every writer at once
# (_shutdown.at_fork), so submit need not compare process ids (a system call) each time.
_CHECK_PID = not hasattr(os, "register_at_fork")

__all__ = [
    "Builder",
    "EventWriter",
    "FailureSink",
    "Overflow",
    "Receipt",
    "RetryPolicy",
    "WriterStats",
]


@dataclasses.dataclass(frozen=True)
class WriterStats:
    """A snapshot of a writer's counters (``EventWriter.stats()``).

    ``dropped`` and ``dead_lettered`` count events by reason: ``queue_full``,
    ``queue_full_raised``, ``spool_full``, ``closed`` (not confirmed before the writer closed,
    and not kept in a spool); ``invalid``, ``too_large``, ``wrong_expected_version``,
    ``stream_deleted``, ``access_denied``, ``unauthenticated``, ``rejected``, ``gave_up``.
    """

    enqueued: int
    sent: int
    batches: int
    retries: int
    stalls: int
    dropped: Mapping[str, int]
    dead_lettered: Mapping[str, int]
    queue_events: int
    queue_bytes: int
    spooled: int
    last_error: str | None
    last_error_at: float | None


class EventWriter:
    """Queues events and appends them in batches on a background thread; see the module docs.

    ``url_or_client``: a connection string (the writer owns and closes its client), an
    ``EventStoreClient`` (yours to close), or a ``Transport`` (``plumberd_logging._transport``:
    what tests fake; ``close()`` is called when the writer ends). Options:

    * ``max_batch_events`` (1,000), ``max_batch_bytes`` (512 KiB, metadata included; must stay
      below the server's 1 MiB append limit), ``linger`` (0.1 s: how long the first event of a
      batch waits for company);
    * ``max_queue_events`` (10,000), ``max_queue_bytes`` (16 MiB of encoded events),
      ``overflow`` (``"block"``: wait ``block_timeout`` seconds, then raise ``QueueFull``);
    * ``retry`` (:class:`RetryPolicy`), ``append_timeout`` (10 s per append call),
      ``stall_timeout`` (default ``2 * append_timeout + 5``): an append that has not returned by
      then (a gRPC call can hang past its deadline when a server vanishes) is abandoned, and a
      new thread on a new connection sends its events again, with the same ids;
    * ``spool_path`` (a directory: every event is on disk before ``submit`` returns),
      ``spool_max_bytes`` (256 MiB), ``spool_sync`` (``"normal"``; ``"full"`` fsyncs);
    * ``on_delivered(receipt)``, ``on_failed(receipt, exc)`` (run on the writer's thread);
    * ``close_timeout`` (5 s, used at exit and on SIGTERM), ``handle_sigterm`` (True: on
      SIGTERM, while the application has no handler of its own, deliver within
      ``close_timeout`` then end as SIGTERM would have; ``$PLUMBERD_HANDLE_SIGTERM=false``
      also turns it off), ``max_append_size`` (the server's 1,048,576 bytes), ``multi_stream``
      (``"auto"``: use multi-stream appends when the server has them), ``codec``.
    """

    def __init__(
        self,
        url_or_client: str | EventStoreClient | Transport,
        *,
        max_batch_events: int = 1000,
        max_batch_bytes: int = 512 * 1024,
        linger: float = 0.1,
        max_queue_events: int = 10_000,
        max_queue_bytes: int = 16 * 2**20,
        overflow: Overflow = "block",
        block_timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        append_timeout: float = 10.0,
        stall_timeout: float | None = None,
        spool_path: str | os.PathLike[str] | None = None,
        spool_max_bytes: int | None = 256 * 2**20,
        spool_sync: Literal["normal", "full"] = "normal",
        on_delivered: Callable[[Receipt], object] | None = None,
        on_failed: Callable[[Receipt, BaseException], object] | None = None,
        close_timeout: float = 5.0,
        handle_sigterm: bool = True,
        max_append_size: int = 1_048_576,
        multi_stream: Literal["auto", "never"] = "auto",
        codec: Codec | None = None,
    ) -> None:
        for name, value in (
            ("max_batch_events", max_batch_events),
            ("max_batch_bytes", max_batch_bytes),
            ("max_queue_events", max_queue_events),
            ("max_queue_bytes", max_queue_bytes),
            ("max_append_size", max_append_size),
        ):
            _int(value, name)
        for name, seconds in (
            ("linger", linger),
            ("block_timeout", block_timeout),
            ("close_timeout", close_timeout),
            ("append_timeout", append_timeout),
        ):
            _seconds(seconds, name)
        if stall_timeout is not None:
            _seconds(stall_timeout, "stall_timeout")
        if max_batch_bytes > max_append_size:
            raise ValueError(
                f"max_batch_bytes={max_batch_bytes} exceeds max_append_size={max_append_size}; "
                "the server would reject such batches"
            )
        if overflow not in OVERFLOWS:
            raise ValueError(f"overflow: expected one of {', '.join(OVERFLOWS)}, got {overflow!r}")
        if overflow == "spool" and spool_path is None:
            raise ValueError("overflow='spool' needs spool_path=... (a directory)")
        if multi_stream not in ("auto", "never"):
            raise ValueError(f"multi_stream: expected 'auto' or 'never', got {multi_stream!r}")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        if not isinstance(handle_sigterm, bool):
            raise TypeError(f"handle_sigterm: expected True or False, got {handle_sigterm!r}")
        sigterm = _shutdown.sigterm_enabled(handle_sigterm)
        transport: Transport
        if isinstance(url_or_client, EventStoreClient):
            transport = ClientTransport(url_or_client, owned=False)
        elif isinstance(url_or_client, str):
            client = EventStoreClient(url_or_client)  # validates the URL now
            transport = ClientTransport(client, owned=True, url=url_or_client)
        elif all(hasattr(url_or_client, m) for m in ("append", "multi_append", "reset", "close")):
            transport = url_or_client  # a Transport (tests use a fake one)
        else:
            raise TypeError(
                "url_or_client: expected a connection string, an EventStoreClient or a "
                f"Transport, got {type(url_or_client).__name__}"
            )
        self._transport = transport
        self._url = transport.url
        append = float(append_timeout) or None
        self.close_timeout = float(close_timeout)
        self._overflow: Overflow = overflow
        self._max_events, self._max_bytes = max_queue_events, max_queue_bytes
        self._batch_events = max_batch_events
        self._block_timeout = float(block_timeout)
        self._options = Options(
            batch_events=max_batch_events,
            batch_bytes=max_batch_bytes,
            linger=float(linger),
            retry=retry or RetryPolicy(),
            append_timeout=append,
            stall_timeout=(
                float(stall_timeout)
                if stall_timeout is not None
                else 2 * append + 5
                if append
                else 60.0
            ),
            close_timeout=self.close_timeout,
            max_append=max_append_size,
            multi=None if multi_stream == "auto" else False,
            codec=codec or getattr(transport, "codec", None) or Codec(),
            on_delivered=on_delivered,
            on_failed=on_failed,
        )
        spool = (
            Spool(spool_path, max_bytes=spool_max_bytes, sync=spool_sync)
            if spool_path is not None
            else None
        )
        self._durable = spool is not None
        self._spool_path = Path(spool_path) if spool_path is not None else None
        self._sigterm = sigterm
        self._fresh(spool)
        _shutdown.at_fork(self)
        if sigterm:
            _shutdown.on_sigterm(self)
        if self._spill is not None and self._spill.open().pending_events:
            self._start()  # events left by an earlier run: deliver them now

    def _fresh(self, spool: Spool | None) -> None:
        self._pid = _getpid()
        self._buffer = buffer = Buffer(
            max_events=self._max_events,
            max_bytes=self._max_bytes,
            batch_events=self._batch_events,
            block_timeout=self._block_timeout,
        )
        self._spill = Spill(spool, buffer) if spool is not None else None
        self._worker = Worker(buffer, self._spill, self._transport, self._options)
        self._closed_text = f"{self!r} is closed"

    def _after_fork(self) -> None:
        """In a forked child: start empty (never resend the parent's events), new connection."""
        spill = self._spill
        spool = None
        if spill is not None:
            spool = spill.after_fork(self._buffer).spool
        self._transport.reset()
        self._buffer.release()  # the parent's queue, never sent from here
        self._fresh(spool)

    def _owner_pid(self) -> int:
        return self._pid

    def _wait_closed(self, timeout: float) -> bool:
        """Wait until the writer has ended (after ``close``); False on timeout."""
        buffer = self._buffer
        return buffer.wait(buffer.over, timeout)

    # -- submitting ----------------------------------------------------------------------------

    def submit(
        self,
        stream: str | None,
        event: object,
        metadata: Metadata | Mapping[str, Any] | None = None,
        expected_position: int | StreamState | None = None,
        *,
        event_type: str | None = None,
        overflow: Overflow | None = None,
        sink: FailureSink | None = None,
    ) -> Receipt:
        """Queue ``event`` for ``stream`` (None: the event class's stream rule); never waits
        while the queue has room. Returns a :class:`Receipt`.

        ``event`` is an ``Event`` (or dataclass/object with fields), or a mapping with
        ``event_type``. ``overflow`` overrides the writer's policy for this event. ``sink``
        (a :class:`FailureSink`) is told if this event is not written.
        """
        if stream is None:
            name = stream_name_for(event)
            if name is None:
                raise ValueError(
                    f"submit(stream=None): {type(event).__name__} has no stream rule; pass a "
                    "stream or declare the class with category=... / stream_id_field=..."
                )
        else:
            name = stream_text(stream)
        r = Receipt(
            self._buffer,
            name,
            event,
            event_type,
            _as_metadata(metadata),
            check_expected(expected_position),
            time.time(),
            current_context(),
            None,
            sink,
        )
        self._enqueue(r, overflow or self._overflow)
        return r

    def submit_deferred(
        self,
        stream: str,
        payload: object,
        builder: Builder | None = None,
        *,
        event_type: str | None = None,
        overflow: Overflow | None = None,
        metadata: Metadata | None = None,
        created: float | None = None,
        context: CorrelationContext | None = None,
        sink: FailureSink | None = None,
    ) -> Receipt:
        """Queue an event captured by an entry point (the logging handler's path).

        No argument is validated here: the caller already did. With a ``builder``, the event is
        ``builder.build(payload)`` on the writer's thread; without, ``payload`` is the event.
        ``context`` is the correlation context captured with it (None: a root event); ``sink``
        is told if the event is not written.
        """
        r = Receipt(
            self._buffer,
            stream,
            payload,
            event_type,
            metadata,
            ANY,
            time.time() if created is None else created,
            context,
            builder,
            sink,
        )
        self._enqueue(r, overflow or self._overflow)
        return r

    def _enqueue(self, r: Receipt, overflow: Overflow) -> None:
        if _CHECK_PID and self._pid != _getpid():
            self._after_fork()
            r._buffer = self._buffer
        worker = self._worker
        if worker.thread is None:
            self._start()
        if self._durable or (self._spill is not None and self._spill.active):
            self._enqueue_spooled(r, overflow)
            return
        dropped = self._buffer.add(r, overflow, self._closed_text)
        if dropped is not None:
            if dropped is SPOOL:
                self._enqueue_spooled(r, "block")
            elif dropped is r:
                self._drop(r, "drop_newest", QueueFull("the writer's queue is full (drop_newest)"))
            else:
                assert isinstance(dropped, Receipt)
                self._drop(
                    dropped,
                    "drop_oldest",
                    QueueFull("dropped as the oldest queued event (drop_oldest)"),
                )

    def _drop(self, r: Receipt, policy: str, exc: QueueFull, reason: str = "queue_full") -> None:
        # The cheapest path a submit can take: it runs for each event of an overload.
        buffer = self._buffer
        if buffer.resolve(r, exc, reason, dead=False, queued=policy != "drop_newest"):

            def line() -> str:  # only for the first drop's stderr line
                with buffer.lock:
                    total = sum(buffer.dropped.values())
                return f"queue full: dropping events ({policy}); {total} dropped so far"

            buffer.tally.note(reason, line)

    def _enqueue_spooled(self, r: Receipt, overflow: Overflow) -> None:
        """Encode on the caller's thread and store on disk before returning."""
        spill = self._spill
        assert spill is not None
        if self._buffer.closing:  # nothing goes to disk for a writer that will not send it
            raise WriterClosed(self._closed_text)
        spill.open()
        if not self._worker.encode(r):
            return
        if not spill.store(r, overflow, self._closed_text):
            self._drop(r, overflow, QueueFull("the spool is full"), "spool_full")

    # -- flush, close, stats -------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event submitted so far is delivered or failed; False on timeout.

        Returns at once once the writer is closed (nothing is sent any more)."""
        buffer = self._buffer
        with buffer.lock:
            target = buffer.next_seq - 1
            if buffer.ended:
                return buffer.resolved_upto(target)
            buffer.flushes += 1
            buffer.idle = False
        buffer.wakeup.set()
        try:
            with buffer.progress:
                buffer.progress.wait_for(
                    lambda: buffer.resolved_upto(target) or buffer.ended, timeout
                )
                return buffer.resolved_upto(target) and not (buffer.over() and self._worker._left)
        finally:
            with buffer.lock:
                buffer.flushes -= 1

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting events, deliver what is queued within ``timeout`` (default
        ``close_timeout``), release the thread, the connection and the spool's lock. True when
        nothing was left undelivered. What is not confirmed in time is failed
        (``WriterClosed("not confirmed within close_timeout=...")``), kept in the spool if any.

        Safe to call more than once; once closed (also by the exit close) it returns at once.
        With ``timeout=0`` it returns at once and the writer finishes in the background, within
        ``close_timeout`` (the handler does this while ``logging`` holds its lock, which the
        transport's own log calls may need).
        """
        worker = self._worker
        if self._buffer.ended:
            return worker.delivered_upto(self._buffer.next_seq - 1)
        if timeout == 0:
            worker.stop(self.close_timeout, wait=False)
            return False
        return worker.stop(self.close_timeout if timeout is None else timeout)

    def stats(self) -> WriterStats:
        """A snapshot of the counters."""
        buffer, spill = self._buffer, self._spill
        with buffer.lock:
            return WriterStats(
                enqueued=buffer.next_seq - 1,  # every accepted event got the next seq
                sent=buffer.sent,
                batches=buffer.batches,
                retries=buffer.retries,
                stalls=buffer.stalls,
                dropped=dict(buffer.dropped),
                dead_lettered=dict(buffer.dead),
                queue_events=buffer.count + (len(spill.spilled) if spill is not None else 0),
                queue_bytes=buffer.bytes,
                spooled=spill.spool.pending_events if spill is not None and spill.opened else 0,
                last_error=buffer.last_error,
                last_error_at=buffer.last_error_at,
            )

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<EventWriter {self._url}>"

    # benchmarks/bench_writer.py reads these two
    @property
    def _client(self) -> EventStoreClient | None:
        transport = self._transport
        return transport.client if isinstance(transport, ClientTransport) else None

    @property
    def _multi(self) -> bool | None:
        return self._worker.delivery.multi

    def _start(self) -> None:
        if self._worker.start():
            _shutdown.at_exit(self)
            if self._sigterm:
                _shutdown.on_sigterm(self)


# -- helpers -----------------------------------------------------------------------------------


def _as_metadata(metadata: Metadata | Mapping[str, Any] | None) -> Metadata | None:
    if metadata is None or isinstance(metadata, Metadata):
        return metadata
    if isinstance(metadata, Mapping):
        return Metadata(**metadata)
    raise TypeError(f"metadata: expected Metadata, a dict or None, got {type(metadata).__name__}")


def _int(value: object, name: str) -> None:
    if not isinstance(value, int):  # the option helpers also take digits as text
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    positive_int(value, name)


def _seconds(value: object, name: str) -> None:
    if isinstance(value, str):
        raise ValueError(f"{name}: expected a number of seconds >= 0, got {value!r}")
    non_negative_seconds(value, name)
