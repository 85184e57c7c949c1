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
* Exit flushes within ``close_timeout`` (no thread is started at exit); a forked child starts
  with an empty queue and its own connection.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol
from uuid import UUID

from plumberd_logging._batching import Unit, group_calls, plan_rounds
from plumberd_logging._diagnostics import library_thread, report
from plumberd_logging._retry import RetryPolicy
from plumberd_logging.client import EventStoreClient
from plumberd_logging.codec import Codec, EncodedEvent
from plumberd_logging.context import CorrelationContext, current_context
from plumberd_logging.errors import (
    AccessDenied,
    EventTooLarge,
    InvalidEvent,
    NotLeader,
    PlumberdError,
    QueueFull,
    StreamDeleted,
    TlsError,
    TransientError,
    Unauthenticated,
    Unsupported,
    WriterClosed,
    WrongExpectedVersion,
)
from plumberd_logging.metadata import Metadata
from plumberd_logging.spool import Spool, SpoolRecord
from plumberd_logging.streams import ANY, StreamState, check_expected, stream_for, stream_text

_getpid = os.getpid

__all__ = [
    "Builder",
    "EventWriter",
    "FailureSink",
    "Overflow",
    "Receipt",
    "RetryPolicy",
    "WriterStats",
]

Overflow = Literal["block", "drop_newest", "drop_oldest", "spool"]
_OVERFLOWS = ("block", "drop_newest", "drop_oldest", "spool")
_PENDING, _DELIVERED, _FAILED = 0, 1, 2
_WINDOW = 4  # a chunk holds up to this many batches' worth of events


class Builder(Protocol):
    """Builds an event on the writer's thread from what was captured (e.g. a log record).

    ``build(payload) -> (body, type)``: ``body`` is an event object or a mapping; ``type`` the
    event type (None: from the body). One builder serves many events, so capturing allocates
    nothing but the receipt.
    """

    def build(self, payload: Any) -> tuple[object, str | None]: ...


class FailureSink(Protocol):
    """Told, on the writer's thread, when an event submitted with it is dead-lettered, dropped
    or not confirmed at close; ``reason`` is the key ``stats()`` counts it under."""

    def failed(self, reason: str, exc: BaseException) -> None: ...


class Receipt:
    """The future of a submitted event: ``done()``, ``result(timeout)``, ``exception(timeout)``."""

    __slots__ = (
        "_error",
        "_position",
        "_state",
        "_writer",
        "builder",
        "context",
        "counted",
        "created",
        "encoded",
        "event",
        "event_type",
        "expected",
        "metadata",
        "seq",
        "sink",
        "size",
        "spool_seq",
        "stream",
        "strings_only",
    )

    def __init__(
        self,
        writer: EventWriter,
        stream: str,
        event: object,
        event_type: str | None,
        metadata: Metadata | None,
        expected: int | StreamState,
        created: float,
        context: CorrelationContext | None,
    ) -> None:
        self._writer = writer
        self.stream = stream
        self.event = event
        self.event_type = event_type
        self.metadata = metadata
        self.expected = expected
        self.created = created
        self.context = context
        self.builder: Builder | None = None  # builds the event from ``event`` on the worker
        self.encoded: EncodedEvent | None = None
        self.size = 0  # bytes of data + metadata, once encoded
        self.counted = 0  # bytes of this event in the writer's queue_bytes
        self.strings_only = False  # metadata values are all strings (multi-stream appends)
        self.seq = 0
        self.spool_seq: int | None = None
        self.sink: FailureSink | None = None
        self._state = _PENDING
        self._position = 0
        self._error: BaseException | None = None

    @property
    def event_id(self) -> UUID | None:
        """The EventStore event id (known once the event is encoded, or from the event itself)."""
        if self.encoded is not None:
            return self.encoded.id
        own = getattr(self.event, "id", None)
        return own if isinstance(own, UUID) else None

    def done(self) -> bool:
        """Whether the event was delivered or failed for good."""
        return self._state != _PENDING

    def result(self, timeout: float | None = None) -> int:
        """The commit position of the append that wrote the event; raises why it failed.

        Raises ``TimeoutError`` when the event is still pending after ``timeout`` seconds.
        """
        if not self._writer._wait(self.done, timeout):
            raise TimeoutError(f"event for stream {self.stream!r} still pending after {timeout}s")
        if self._error is not None:
            raise self._error
        return self._position

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Why the event failed, or None when it was delivered."""
        if not self._writer._wait(self.done, timeout):
            raise TimeoutError(f"event for stream {self.stream!r} still pending after {timeout}s")
        return self._error

    def __repr__(self) -> str:
        state = ("pending", "delivered", "failed")[self._state]
        return f"<Receipt {self.stream!r} {state}>"


@dataclasses.dataclass(frozen=True)
class WriterStats:
    """A snapshot of a writer's counters (``EventWriter.stats()``)."""

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

    ``url_or_client``: a connection string (the writer owns and closes its client) or an
    ``EventStoreClient`` (yours to close). Options:

    * ``max_batch_events`` (500), ``max_batch_bytes`` (512 KiB, metadata included; must stay
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
    * ``close_timeout`` (5 s, used at exit), ``max_append_size`` (the server's 1,048,576 bytes),
      ``multi_stream`` (``"auto"``: use multi-stream appends when the server has them),
      ``codec``.
    """

    def __init__(
        self,
        url_or_client: str | EventStoreClient,
        *,
        max_batch_events: int = 500,
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
        max_append_size: int = 1_048_576,
        multi_stream: Literal["auto", "never"] = "auto",
        codec: Codec | None = None,
    ) -> None:
        _positive_int(max_batch_events, "max_batch_events")
        _positive_int(max_batch_bytes, "max_batch_bytes")
        _positive_int(max_queue_events, "max_queue_events")
        _positive_int(max_queue_bytes, "max_queue_bytes")
        _positive_int(max_append_size, "max_append_size")
        _non_negative(linger, "linger")
        _non_negative(block_timeout, "block_timeout")
        _non_negative(close_timeout, "close_timeout")
        _non_negative(append_timeout, "append_timeout")
        if stall_timeout is not None:
            _non_negative(stall_timeout, "stall_timeout")
        if max_batch_bytes > max_append_size:
            raise ValueError(
                f"max_batch_bytes={max_batch_bytes} exceeds max_append_size={max_append_size}; "
                "the server would reject such batches"
            )
        if overflow not in _OVERFLOWS:
            raise ValueError(f"overflow: expected one of {', '.join(_OVERFLOWS)}, got {overflow!r}")
        if overflow == "spool" and spool_path is None:
            raise ValueError("overflow='spool' needs spool_path=... (a directory)")
        if multi_stream not in ("auto", "never"):
            raise ValueError(f"multi_stream: expected 'auto' or 'never', got {multi_stream!r}")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        if isinstance(url_or_client, EventStoreClient):
            self._client, self._owns_client, self._url = url_or_client, False, None
        elif isinstance(url_or_client, str):
            self._client = EventStoreClient(url_or_client)  # validates the URL now
            self._owns_client, self._url = True, url_or_client
        else:
            raise TypeError(
                "url_or_client: expected a connection string or an EventStoreClient, "
                f"got {type(url_or_client).__name__}"
            )
        self._codec = codec or self._client.codec
        self._batch_events = max_batch_events
        self._batch_bytes = max_batch_bytes
        self._linger = float(linger)
        self._max_events = max_queue_events
        self._max_bytes = max_queue_bytes
        self._overflow: Overflow = overflow
        self._block_timeout = float(block_timeout)
        self._retry = retry or RetryPolicy()
        self._append_timeout = float(append_timeout) or None
        self._stall_timeout = (
            float(stall_timeout)
            if stall_timeout is not None
            else 2 * self._append_timeout + 5
            if self._append_timeout
            else 60.0
        )
        self._close_timeout = float(close_timeout)
        self._max_append = max_append_size
        self._multi: bool | None = None if multi_stream == "auto" else False
        self._on_delivered = on_delivered
        self._on_failed = on_failed
        self._spool = (
            Spool(spool_path, max_bytes=spool_max_bytes, sync=spool_sync)
            if spool_path is not None
            else None
        )
        self._durable = spool_path is not None
        self._spool_path = Path(spool_path) if spool_path is not None else None
        self._init_state()
        ref = weakref.ref(self)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=partial(_after_fork_in_child, ref))
        if self._spool is not None and (self._open_spool().pending_events or self._spill):
            self._start()  # events left by an earlier run: deliver them now

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._wakeup = threading.Event()
        self._queue: collections.deque[Receipt] = collections.deque()
        self._inflight: list[Receipt] = []
        self._count = 0  # events queued + in flight (memory)
        self._bytes = 0  # their encoded bytes (events are encoded by the worker, or when spooled)
        self._next_seq = 1
        self._flushes = 0
        self._closing = False
        self._closed = False
        self._stopped = False  # the worker ended early (a crash, or no threads at exit)
        self._thread: threading.Thread | None = None
        self._call_started: float | None = None  # when the worker's current append began
        self._watchdog = threading.Event()  # set to stop the stall watchdog
        self._stalls = 0
        self._pid = os.getpid()
        self._spool_opened = False
        self._spill = False  # events wait in the spool, not in memory
        self._spool_read_upto = 0  # highest spool seq handed to the worker
        self._spilled: dict[int, Receipt] = {}  # spool seq -> receipt, oldest first
        self._spill_gen = 0  # bumped whenever an event goes to disk only
        self._replaying = False  # rows left by an earlier run are not all read yet
        self._ids: Iterator[UUID] = iter(())
        self._drop_note: str | None = None  # a drop to report once the lock is released
        self._backoff = threading.Event()  # set by close() to cut a retry wait short
        self._stats_sent = self._stats_batches = self._stats_retries = 0
        self._dropped: collections.Counter[str] = collections.Counter()
        self._dead: collections.Counter[str] = collections.Counter()
        self._last_error: str | None = None
        self._last_error_at: float | None = None

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
        ``event_type``. ``overflow`` overrides the writer's policy for this event.
        """
        if stream is None:
            name = stream_for(event)
            if name is None:
                raise ValueError(
                    f"submit(stream=None): {type(event).__name__} has no stream rule; pass a "
                    "stream or declare the class with category=... / stream_id_field=..."
                )
        else:
            name = stream_text(stream)
        meta = _as_metadata(metadata)
        r = Receipt(
            self,
            name,
            event,
            event_type,
            meta,
            check_expected(expected_position),
            time.time(),
            current_context(),
        )
        r.sink = sink
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
        ``context`` is the correlation context captured with it (None: a root event).
        """
        r = Receipt(
            self,
            stream,
            payload,
            event_type,
            metadata,
            ANY,
            time.time() if created is None else created,
            context,
        )
        r.builder = builder
        r.sink = sink
        self._enqueue(r, overflow or self._overflow)
        return r

    def _enqueue(self, r: Receipt, overflow: Overflow) -> None:
        if self._pid != _getpid():
            _reset_in_child(self)
        if self._thread is None:
            self._start()
        if self._durable or self._spill:  # spill mode implies a spool
            self._enqueue_spooled(r, overflow)
            return
        with self._lock:
            if self._closing:
                raise WriterClosed(f"{self!r} is closed")
            count = self._count
            if (count < self._max_events and self._bytes < self._max_bytes) or self._make_room(
                r, overflow
            ):
                r.seq = seq = self._next_seq
                self._next_seq = seq + 1
                self._queue.append(r)
                self._count = count = self._count + 1
            else:
                count = 0
        if count in (1, self._batch_events):
            self._wakeup.set()
        if self._drop_note is not None:
            self._report_drop()

    def _make_room(self, r: Receipt, overflow: Overflow) -> bool:
        """Apply the overflow policy with the lock held; True when ``r`` may be queued."""
        if overflow == "spool" and self._spool is not None:
            self._lock.release()
            try:
                self._enqueue_spooled(r, "block")
            finally:
                self._lock.acquire()
            return False
        if overflow == "drop_oldest" and self._queue:
            oldest = self._queue.popleft()
            self._count -= 1
            self._bytes -= oldest.counted
            self._dropped["queue_full"] += 1
            self._fail(oldest, QueueFull("dropped as the oldest queued event (drop_oldest)"))
            _tell(oldest, "queue_full")
            self._progress.notify_all()
            self._drop_note = "drop_oldest"
            return True
        if overflow == "block":
            deadline = time.monotonic() + self._block_timeout
            while self._count >= self._max_events or self._bytes >= self._max_bytes:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing:
                    self._dropped["queue_full_raised"] += 1
                    raise QueueFull(
                        f"the writer's queue stayed full for {self._block_timeout}s "
                        f"({self._count} events, {self._bytes} bytes)"
                    )
                self._space.wait(remaining)
            return True
        self._dropped["queue_full"] += 1
        self._fail(r, QueueFull("the writer's queue is full (drop_newest)"))
        _tell(r, "queue_full")
        self._drop_note = "drop_newest"
        return False

    def _report_drop(self) -> None:
        """One stderr line per interval while events are dropped (outside the lock)."""
        policy, self._drop_note = self._drop_note, None
        if policy is not None:
            report(
                "queue_full",
                f"queue full: dropping events ({policy}); "
                f"{sum(self._dropped.values())} dropped so far",
            )

    def _enqueue_spooled(self, r: Receipt, overflow: Overflow) -> None:
        """Encode on the caller's thread and store on disk before returning."""
        spool = self._open_spool()
        if not self._encode(r):
            return
        deadline = time.monotonic() + self._block_timeout
        while True:
            try:
                assert r.encoded is not None
                [r.spool_seq] = spool.put([(r.stream, r.expected, r.encoded)])
                break
            except QueueFull as exc:
                if overflow != "block":
                    with self._lock:
                        self._dropped["spool_full"] += 1
                    self._fail(r, exc)
                    _tell(r, "spool_full")
                    return
                with self._lock:
                    if time.monotonic() >= deadline or self._closing:
                        self._dropped["queue_full_raised"] += 1
                        raise
                    self._space.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        r.event = r.metadata = r.context = None  # on disk now; keep memory small
        with self._lock:
            if self._closing:
                raise WriterClosed(f"{self!r} is closed")
            r.seq = self._next_seq
            self._next_seq += 1
            room = self._count < self._max_events and self._bytes < self._max_bytes
            if self._spill or not room:
                self._spill = True
                self._spill_gen += 1
                self._spilled[r.spool_seq] = r
                r.encoded = None  # read back from disk when its turn comes
                wake = True
            else:
                self._queue.append(r)
                self._count += 1
                r.counted = r.size
                self._bytes += r.size
                self._spool_read_upto = max(self._spool_read_upto, r.spool_seq)
                wake = self._count in (1, self._batch_events)
        if wake:
            self._wakeup.set()

    def _open_spool(self) -> Spool:
        spool = self._spool
        assert spool is not None
        if not self._spool_opened:
            with self._lock:
                if not self._spool_opened:
                    spool.open()
                    if spool.pending_events:  # left by an earlier run: send them first
                        self._spill = True
                        self._spill_gen += 1
                        self._replaying = True
                    self._spool_opened = True
        return spool

    # -- flush, close, stats -------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event submitted so far is delivered or failed; False on timeout."""
        with self._lock:
            if self._closed:  # e.g. closed at exit: nothing more will be sent, never wait again
                return not any(not r.done() for r in (*self._queue, *self._inflight))
            target = self._next_seq - 1
            self._flushes += 1
        self._wakeup.set()
        try:
            with self._progress:
                self._progress.wait_for(
                    lambda: self._resolved_upto(target) or self._stopped, timeout
                )
                return self._resolved_upto(target)
        finally:
            with self._lock:
                self._flushes -= 1

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting events, deliver what is queued within ``timeout`` (default
        ``close_timeout``), release the connection. True when nothing was left undelivered.

        Safe to call more than once. With ``timeout=0`` it returns at once and the writer's
        thread finishes in the background (the handler does this while ``logging`` holds its
        lock, which the transport's own log calls may need).
        """
        timeout = self._close_timeout if timeout is None else timeout
        with self._lock:
            already = self._closed
            self._closing = True
            self._space.notify_all()
        if already:
            with self._lock:
                return self._resolved_upto(self._next_seq - 1)
        self._wakeup.set()
        self._backoff.set()
        thread = self._thread
        done = thread is None or (
            self._wait(lambda: self._resolved_upto(self._next_seq - 1) or self._stopped, timeout)
            and not self._stopped
        )
        if thread is not None and done and thread is not threading.current_thread():
            thread.join(max(0.0, timeout))
        if not done and timeout == 0:
            return False
        self._finish(done)
        return done

    def stats(self) -> WriterStats:
        """A snapshot of the counters."""
        with self._lock:
            return WriterStats(
                enqueued=self._next_seq - 1,  # every accepted event got the next seq
                sent=self._stats_sent,
                batches=self._stats_batches,
                retries=self._stats_retries,
                stalls=self._stalls,
                dropped=dict(self._dropped),
                dead_lettered=dict(self._dead),
                queue_events=self._count + len(self._spilled),
                queue_bytes=self._bytes,
                spooled=self._spool.pending_events if self._spool_opened and self._spool else 0,
                last_error=self._last_error,
                last_error_at=self._last_error_at,
            )

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<EventWriter {self._client.url}>"

    # -- the worker ----------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="plumberd-writer", daemon=True)
            self._thread = thread
        thread.start()
        threading.Thread(target=self._watch, name="plumberd-watchdog", daemon=True).start()
        _register_exit(self)

    def _watch(self) -> None:
        """Replace the worker when an append hangs past ``stall_timeout`` (see the options)."""
        library_thread()
        interval = min(1.0, self._stall_timeout / 4)
        pid = self._pid
        while not self._watchdog.wait(interval) and self._pid == pid and not self._closed:
            started = self._call_started
            if started is not None and time.monotonic() - started > self._stall_timeout:
                self._replace_worker()

    def _replace_worker(self) -> None:
        """Abandon the stuck worker: its events go back to the front of the queue, and a new
        thread on a new connection sends them again (same ids, so the server keeps one copy)."""
        with self._lock:
            if self._call_started is None or self._closed:
                return
            self._call_started = None
            chunk, self._inflight = self._inflight, []
            for r in reversed(chunk):
                if r.done():
                    self._count -= 1
                    self._bytes -= r.counted
                else:
                    self._queue.appendleft(r)
            thread = threading.Thread(target=self._run, name="plumberd-writer", daemon=True)
            self._thread = thread
            self._stalls += 1
        report(
            "stall",
            f"an append to {self._client.url} did not return within {self._stall_timeout:g}s; "
            "resending its events on a new connection (same event ids)",
        )
        if self._owns_client and self._url is not None:
            self._client = EventStoreClient(self._url, codec=self._codec)
        else:
            self._client.reset()
        try:
            thread.start()
        except RuntimeError as exc:  # no threads at interpreter exit (CPython 3.12.0-3.12.2)
            report("stall", f"could not start a new writer thread: {exc}", force=True)

    def _call(self, fn: Callable[..., int], *args: Any, **kwargs: Any) -> int:
        """An append on the worker's thread, watched for stalls; a worker abandoned meanwhile
        stops here (its events were given to its replacement)."""
        self._call_started = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            if threading.current_thread() is self._thread:
                self._call_started = None
            else:
                raise _Stopped

    def _run(self) -> None:
        library_thread()
        try:
            while True:
                chunk = self._next_chunk()
                if chunk is None:
                    break
                self._send_chunk(chunk)
        except RuntimeError as exc:
            if "interpreter shutdown" not in str(exc):
                self._crashed(exc)
                return
            # CPython 3.12.0-3.12.2 (gh-113964) forbid new threads once the interpreter exits,
            # and gRPC starts one per streaming call: nothing can be sent any more.
            with self._lock:
                left = sum(1 for r in (*self._queue, *self._inflight) if not r.done())
                left += len(self._spilled)
                self._closing = self._stopped = True
                self._progress.notify_all()
            if left:
                where = (
                    f"kept in the spool {self._spool_path}" if self._spool is not None else "lost"
                )
                report(
                    "exit_threads",
                    f"{left} events not sent at exit ({where}): this Python forbids starting "
                    "threads during shutdown, which gRPC needs (CPython gh-113964, fixed in "
                    "3.12.3); call flush() before exiting, or upgrade Python",
                    force=True,
                )
        except BaseException as exc:
            self._crashed(exc)

    def _crashed(self, exc: BaseException) -> None:
        """A bug: say so once, fail what is pending, never hang."""
        report("writer_crash", f"writer thread failed: {type(exc).__name__}: {exc}", force=True)
        with self._lock:
            pending = [*self._inflight, *self._queue, *self._spilled.values()]
            self._inflight, self._queue, self._spilled = [], collections.deque(), {}
            self._count = self._bytes = 0
            self._closing = self._stopped = True
            for r in pending:
                self._fail(r, PlumberdError(f"writer thread failed: {exc}"))
            self._progress.notify_all()
            self._space.notify_all()

    def _next_chunk(self) -> list[Receipt] | None:
        while True:
            with self._lock:
                if self._closed or threading.current_thread() is not self._thread:
                    return None  # closed, or replaced after a stall
                if not self._queue and self._spill:
                    self._lock.release()
                    try:
                        loaded = self._load_spilled()
                    finally:
                        self._lock.acquire()
                    if loaded:
                        return loaded
                if not self._queue:
                    if self._closing and not self._spill:
                        return None
                    self._wakeup.clear()
                    timeout: float | None = None
                else:
                    due = self._queue[0].created + self._linger
                    now = time.time()
                    if (
                        len(self._queue) >= self._batch_events
                        or now >= due
                        or self._flushes
                        or self._closing
                    ):
                        n = min(len(self._queue), self._batch_events * _WINDOW)
                        chunk = [self._queue.popleft() for _ in range(n)]
                        self._inflight = chunk
                        return chunk
                    self._wakeup.clear()
                    timeout = due - now
            self._wakeup.wait(timeout)

    def _load_spilled(self) -> list[Receipt]:
        """Read the next spilled events from disk (oldest first); leave spill mode when done."""
        spool = self._spool
        assert spool is not None
        window = self._batch_events * _WINDOW
        with self._lock:
            generation, after = self._spill_gen, self._spool_read_upto
        records = spool.read(after, window)
        with self._lock:
            chunk: list[Receipt] = []
            for record in records:
                r = self._spilled.pop(record.seq, None) or self._adopted(record)
                r.encoded, r.size, r.spool_seq = record.event, record.size, record.seq
                r.counted = r.size
                r.strings_only = _all_strings(record.event.metadata)
                chunk.append(r)
            if records:
                self._spool_read_upto = records[-1].seq
            if len(records) < window and self._spill_gen == generation:
                self._spill = False  # everything on disk has been read
                self._replaying = False
            self._inflight = chunk
            self._count += len(chunk)
            self._bytes += sum(r.counted for r in chunk)
            return chunk

    def _adopted(self, record: SpoolRecord) -> Receipt:
        """A receipt for a row spooled by an earlier run (nobody waits on it)."""
        r = Receipt(self, record.stream, None, None, None, record.expected, record.spooled_at, None)
        r.seq = 0
        return r

    def _send_chunk(self, chunk: list[Receipt]) -> None:
        for r in chunk:
            if r.encoded is None and self._encode(r):
                r.counted = r.size
                with self._lock:
                    self._bytes += r.size
        pending = [r for r in chunk if not r.done()]
        attempt = 0
        first_failure: float | None = None
        while pending and not self._closed:
            try:
                self._send_once(pending)
            except _Stopped:
                return  # closed under us after its timeout: leave everything as it is
            except TransientError as exc:
                now = time.monotonic()
                first_failure = first_failure or now
                self._note_error(exc)
                give_up = self._retry.give_up_after
                if give_up is not None and now - first_failure >= give_up:
                    for r in pending:
                        if not r.done():
                            self._dead_letter(r, "gave_up", exc)
                    break
                self._report_retry(exc)
                self._stats_retries += 1
                delay = self._retry.backoff(attempt)
                attempt += 1
                self._encode_waiting(time.monotonic() + delay)
                if self._backoff.wait(delay):  # close() cuts the wait short once
                    self._backoff.clear()
            pending = [r for r in pending if not r.done()]
        with self._lock:
            self._inflight = []
            self._count -= len(chunk)
            self._bytes -= sum(r.counted for r in chunk)
            self._space.notify_all()
            self._progress.notify_all()

    def _report_retry(self, exc: TransientError) -> None:
        """One stderr line per interval and kind; TLS and not-leader failures say what to fix."""
        if isinstance(exc, TlsError):
            report("retry:tls", f"cannot connect securely; events are kept and retried: {exc}")
            if self._owns_client:  # the next attempt re-reads the CA file (it may be fixed)
                self._client.reset()
        elif isinstance(exc, NotLeader):
            report("retry:not_leader", f"append refused, retrying with the same ids: {exc}")
        else:
            report("retry", f"append failed, retrying with the same event ids: {exc}")

    def _encode_waiting(self, deadline: float) -> None:
        """While waiting to retry, encode queued events: their bytes then count against
        ``max_queue_bytes`` (so the bound holds during an outage) and the objects they kept
        alive (log records, arguments) are released."""
        while time.monotonic() < deadline:
            with self._lock:
                todo = [r for r in itertools.islice(self._queue, 0, 2000) if r.encoded is None]
            if not todo:
                return
            for r in todo[:200]:
                if r.done() or r.encoded is not None or not self._encode(r):
                    continue
                with self._lock:
                    if not r.done():  # not dropped meanwhile (drop_oldest)
                        r.counted = r.size
                        self._bytes += r.size

    def _new_id(self) -> UUID:
        """A random (version 4) event id; drawn in bulk, one system call per 256 ids."""
        try:
            return next(self._ids)
        except StopIteration:
            raw = os.urandom(16 * 256)
            self._ids = iter(
                [UUID(bytes=raw[i : i + 16], version=4) for i in range(0, len(raw), 16)]
            )
            return next(self._ids)

    def _send_once(self, items: list[Receipt]) -> None:
        """One pass over the pending items; raises TransientError to be retried."""
        for round_ in plan_rounds(items, self._batch_events, self._batch_bytes):
            multi: list[Unit[Receipt]] = []
            singles: list[Unit[Receipt]] = []
            for unit in round_:
                eligible = self._multi is not False and all(r.strings_only for r in unit.items)
                (multi if eligible else singles).append(unit)
            if len(multi) < 2:
                singles, multi = round_, []
            for call in group_calls(multi, self._batch_events, self._batch_bytes):
                if len(call) < 2 or not self._append_multi(call):
                    singles.extend(call)
            for unit in singles:
                self._append_isolating(unit.stream, unit.expected, unit.items)

    def _append_multi(self, units: list[Unit[Receipt]]) -> bool:
        """One multi-stream append; False when the units must go one by one instead."""
        try:
            position = self._call(
                self._client.multi_append_encoded,
                [(u.stream, u.expected, [_enc(r) for r in u.items]) for u in units],
                timeout=self._append_timeout,
            )
        except Unsupported:
            self._multi = False
            return False
        except TransientError:
            raise
        except PlumberdError:  # one of them is bad: isolate it with per-stream appends
            if self._closed:
                raise _Stopped from None
            return False
        self._multi = True
        self._delivered([r for unit in units for r in unit.items], position)
        return True

    def _append_isolating(
        self, stream: str, expected: int | StreamState, items: list[Receipt]
    ) -> None:
        """Append ``items``; on a permanent error split them to dead-letter only the culprit."""
        try:
            position = self._call(
                self._client.append_encoded,
                stream,
                [_enc(r) for r in items],
                expected,
                timeout=self._append_timeout,
            )
        except TransientError:
            raise
        except PlumberdError as exc:
            if self._closed:
                raise _Stopped from None
            if len(items) == 1 or isinstance(exc, AccessDenied):
                # Access is granted per user and stream, not per event: no culprit to look for.
                for r in items:
                    self._dead_letter(r, _reason(exc), exc)
                return
            half = len(items) // 2
            self._append_isolating(stream, expected, items[:half])
            self._append_isolating(stream, ANY, items[half:])
            return
        self._delivered(items, position)

    # -- resolution ----------------------------------------------------------------------------

    def _encode(self, r: Receipt) -> bool:
        """Encode ``r`` once (its id is fixed from here on); dead-letter it if it cannot be."""
        try:
            event, event_type = r.event, r.event_type
            if r.builder is not None:
                event, built_type = r.builder.build(event)
                event_type = event_type or built_type
            event_id = None
            if isinstance(event, Mapping) and "Id" not in event:
                event_id = self._new_id()
            r.encoded = self._codec.encode(
                event,
                r.metadata,
                event_type=event_type,
                event_id=event_id,
                created=r.created,
                context=r.context,
            )
        except InvalidEvent as exc:
            self._dead_letter(r, "invalid", exc)
            return False
        except Exception as exc:  # a bug in a user's object (a property raising, ...)
            self._dead_letter(r, "invalid", InvalidEvent(f"{type(exc).__name__}: {exc}"))
            return False
        r.size = len(r.encoded.data) + len(r.encoded.metadata)
        custom = r.metadata.custom if r.metadata is not None else {}
        r.strings_only = all(isinstance(v, str) for v in custom.values())
        if r.size > self._max_append:
            self._dead_letter(
                r,
                "too_large",
                EventTooLarge(
                    f"event {r.encoded.id} ({r.encoded.type}) is {r.size} bytes; the server "
                    f"accepts at most {self._max_append} per append"
                ),
            )
            return False
        r.event = r.metadata = r.context = None  # encoded now; drop the references
        return True

    def _delivered(self, items: list[Receipt], position: int, *, calls: int = 1) -> None:
        # Off the spool first: once a flush() sees them delivered, a crash replays nothing.
        self._forget_spooled([r.spool_seq for r in items if r.spool_seq is not None])
        with self._lock:
            self._stats_sent += len(items)
            self._stats_batches += calls
        for r in items:
            r._position = position
            r._state = _DELIVERED
        if self._on_delivered is not None:
            for r in items:
                self._callback(self._on_delivered, r)
        with self._lock:
            self._progress.notify_all()

    def _dead_letter(self, r: Receipt, reason: str, exc: BaseException) -> None:
        with self._lock:
            self._dead[reason] += 1
        self._note_error(exc)
        if r.spool_seq is not None and self._spool is not None:
            with contextlib.suppress(Exception):
                self._spool.dead_letter(r.spool_seq, f"{reason}: {exc}")
            r.spool_seq = None
        what = f"{r.encoded.type} {r.encoded.id}" if r.encoded else f"event for {r.stream!r}"
        report(f"dead:{reason}", f"event not written ({reason}): {what}: {exc}")
        self._fail(r, exc)
        _tell(r, reason)
        if self._on_failed is not None:
            self._callback(self._on_failed, r, exc)

    def _fail(self, r: Receipt, exc: BaseException) -> None:
        r._error = exc
        r._state = _FAILED

    def _forget_spooled(self, seqs: list[int]) -> None:
        if seqs and self._spool is not None:
            try:
                self._spool.remove(seqs)
            except Exception as exc:  # stays on disk; a later replay is idempotent
                report("spool", f"could not remove delivered events from the spool: {exc}")

    def _callback(self, fn: Callable[..., object], *args: object) -> None:
        try:
            fn(*args)
        except Exception as exc:
            report("callback", f"callback {getattr(fn, '__name__', fn)!r} raised {exc!r}")

    def _note_error(self, exc: BaseException) -> None:
        with self._lock:
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._last_error_at = time.time()

    def _resolved_upto(self, target: int) -> bool:
        """Whether every event with ``seq <= target`` is resolved (with the lock held)."""
        queue, inflight = self._queue, self._inflight
        if queue and queue[0].seq <= target:
            return False
        if any(not r.done() and r.seq <= target for r in inflight):
            return False
        if self._replaying:  # rows an earlier run left in the spool come first
            return False
        spilled = self._spilled
        return not spilled or next(iter(spilled.values())).seq > target

    def _wait(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        with self._progress:
            return self._progress.wait_for(predicate, timeout)

    def _finish(self, delivered_all: bool) -> None:
        """Release the connection and the spool; one stderr line if events were left."""
        self._watchdog.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            left = sum(1 for r in (*self._queue, *self._inflight) if not r.done())
            left += len(self._spilled)
            kept = self._spool is not None
            reason = (
                "not sent before the writer closed; kept in the spool for the next writer"
                if kept
                else "not sent before the writer closed"
            )
            for r in (*self._queue, *self._spilled.values()):
                if not kept:
                    self._dropped["closed"] += 1
                self._fail(r, WriterClosed(reason))
                _tell(r, "closed")
            self._progress.notify_all()
            dropped = sum(self._dropped.values())
        if dropped:
            report(
                "exit_dropped",
                f"{dropped} events were dropped while the queue was full "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(self._dropped.items()))})",
                force=True,
            )
        if left and not delivered_all and not self._stopped:  # else the worker said why
            where = self._client.url
            if self._spool is not None:
                report(
                    "exit",
                    f"{left} events not confirmed by {where}; kept in the spool "
                    f"{self._spool_path} and sent by the next writer that opens it",
                    force=True,
                )
            else:
                report(
                    "exit",
                    f"{left} events not confirmed by {where} before the writer closed; "
                    "they are lost unless the server stored them before the connection failed",
                    force=True,
                )
        if self._owns_client:
            self._client.close()
        if self._spool is not None and self._spool_opened:
            self._spool.close()


# -- helpers -----------------------------------------------------------------------------------


def _tell(r: Receipt, reason: str) -> None:
    sink = r.sink
    if sink is not None and r._error is not None:
        with contextlib.suppress(Exception):
            sink.failed(reason, r._error)


def _enc(r: Receipt) -> EncodedEvent:
    assert r.encoded is not None
    return r.encoded


def _all_strings(metadata: bytes) -> bool:
    """v2 multi-stream appends take metadata as string properties only."""
    try:
        value = json.loads(metadata)
    except ValueError:
        return False
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


class _Stopped(Exception):
    """The writer was closed (after its timeout) while its thread was still sending."""


def _reason(exc: BaseException) -> str:
    for cls, name in (
        (Unauthenticated, "unauthenticated"),
        (WrongExpectedVersion, "wrong_expected_version"),
        (EventTooLarge, "too_large"),
        (StreamDeleted, "stream_deleted"),
        (AccessDenied, "access_denied"),
        (InvalidEvent, "rejected"),
    ):
        if isinstance(exc, cls):
            return name
    return "rejected"


def _as_metadata(metadata: Metadata | Mapping[str, Any] | None) -> Metadata | None:
    if metadata is None or isinstance(metadata, Metadata):
        return metadata
    if isinstance(metadata, Mapping):
        return Metadata(**metadata)
    raise TypeError(f"metadata: expected Metadata, a dict or None, got {type(metadata).__name__}")


def _positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")


def _non_negative(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name}: expected a number of seconds >= 0, got {value!r}")


def _reset_in_child(writer: EventWriter) -> None:
    """In a forked child: start empty (never resend the parent's events), new connection."""
    spool = writer._spool
    writer._init_state()
    if spool is not None:
        spool.forget_after_fork()
        writer._spool = Spool(spool.directory, max_bytes=spool.max_bytes, sync=spool.sync)
    if writer._owns_client and writer._url is not None:
        writer._client = EventStoreClient(writer._url, codec=writer._codec)


def _after_fork_in_child(ref: weakref.ref[EventWriter]) -> None:
    writer = ref()
    if writer is not None and writer._pid != os.getpid():
        _reset_in_child(writer)


def _register_exit(writer: EventWriter) -> None:
    """Close at exit, before threads are joined (no thread may be started later on 3.12+)."""
    hook = partial(_close_at_exit, weakref.ref(writer))
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError
        register(hook)
    except RuntimeError:  # interpreter already shutting down, or an old Python
        import atexit

        atexit.register(hook)


def _close_at_exit(ref: weakref.ref[EventWriter]) -> None:
    writer = ref()
    if writer is not None and writer._pid == os.getpid():
        writer.close(writer._close_timeout)
