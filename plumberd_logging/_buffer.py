"""The writer's memory: a bounded queue, overflow policies, sequence numbers, flush waiting and
the counters of ``stats()``. No I/O, no threads of its own::

    buffer = Buffer(max_events=10_000, max_bytes=16 * 2**20, batch_events=500, block_timeout=5)
    dropped = buffer.add(receipt, "drop_oldest")   # receipts the policy dropped (for their sinks)
    chunk = buffer.take(2000)                      # the worker's next events, now in flight
    buffer.deliver(chunk, position)                # resolves them and wakes flush() waiters

Every resolution goes through :meth:`Buffer.resolve`, which counts a failure under the reason
its error class names (``errors.PlumberdError.dead_letter_reason``), tells the event's
:class:`FailureSink` and the writer's stderr tally.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol
from uuid import UUID

from plumberd_logging._accel import speedups
from plumberd_logging._diagnostics import Tally, report
from plumberd_logging.errors import QueueFull, WriterClosed
from plumberd_logging.streams import ANY

if TYPE_CHECKING:
    from plumberd_logging.codec import EncodedEvent
    from plumberd_logging.context import CorrelationContext
    from plumberd_logging.metadata import Metadata
    from plumberd_logging.streams import StreamState

__all__ = ["Buffer", "Builder", "FailureSink", "Overflow", "Receipt", "failed_receipt"]

Overflow = Literal["block", "drop_newest", "drop_oldest", "spool"]
OVERFLOWS = ("block", "drop_newest", "drop_oldest", "spool")
PENDING, DELIVERED, FAILED = 0, 1, 2
# A queued receipt is walked by no cycle collection (it is reachable from the queue anyway);
# tracked again once resolved. Pure Python cannot untrack: both are None there.
_UNTRACK = speedups.untrack if speedups is not None else None
_TRACK = speedups.track if speedups is not None else None
SPOOL = object()  # add(): the caller must store this event on disk (overflow="spool")


class Builder(Protocol):
    """Builds an event on the writer's thread from what was captured (e.g. a log record).

    ``build(payload) -> (body, type)``: ``body`` is an event object or a mapping; ``type`` the
    event type (None: from the body). One builder serves many events, so capturing allocates
    nothing but the receipt.
    """

    def build(self, payload: Any) -> tuple[object, str | None]: ...


class FailureSink(Protocol):
    """Told when an event submitted with it is not written: dead-lettered, dropped by an
    overflow policy, or not confirmed at close/exit. ``reason`` is the name ``stats()`` counts
    it under (``"invalid"``, ``"queue_full"``, ``"closed"``, ...). Runs on whichever thread saw
    the failure; exceptions from it are swallowed.

        class Counter:
            def failed(self, reason: str, exc: BaseException) -> None:
                print("not written:", reason, exc)
    """

    def failed(self, reason: str, exc: BaseException) -> None: ...


class Receipt:
    """The future of a submitted event: ``done()``, ``result(timeout)``, ``exception(timeout)``.

    ``stream`` is where it goes, ``event_id`` its id once known. Everything else is private.
    """

    __slots__ = (
        "_buffer",
        "_builder",
        "_context",
        "_counted",
        "_created",
        "_encoded",
        "_error",
        "_event",
        "_event_type",
        "_expected",
        "_metadata",
        "_position",
        "_seq",
        "_sink",
        "_size",
        "_spool_seq",
        "_state",
        "_strings_only",
        "stream",
    )

    def __init__(
        self,
        buffer: Buffer,
        stream: str,
        event: object,
        event_type: str | None,
        metadata: Metadata | None,
        expected: int | StreamState,
        created: float,
        context: CorrelationContext | None,
        builder: Builder | None = None,
        sink: FailureSink | None = None,
    ) -> None:
        self._buffer = buffer
        self.stream = stream
        self._event = event
        self._event_type = event_type
        self._metadata = metadata
        self._expected = expected
        self._created = created
        self._context = context
        self._builder = builder  # builds the event from ``_event`` on the worker
        self._sink = sink
        self._encoded: EncodedEvent | None = None
        self._size = 0  # bytes of data + metadata, once encoded
        self._counted = 0  # bytes of this event in the buffer's byte count
        self._strings_only = False  # metadata values are all strings (multi-stream appends)
        self._seq = 0
        self._spool_seq: int | None = None
        self._state = PENDING
        self._position = 0
        self._error: BaseException | None = None

    @property
    def expected(self) -> int | StreamState:
        """The stream position checked before the append (``ANY``: none)."""
        return self._expected

    @property
    def size(self) -> int:
        """Bytes of data and metadata once encoded (0 before)."""
        return self._size

    @property
    def event_id(self) -> UUID | None:
        """The EventStore event id (known once the event is encoded, or from the event itself)."""
        if self._encoded is not None:
            return self._encoded.id
        own = getattr(self._event, "id", None)
        return own if isinstance(own, UUID) else None

    def done(self) -> bool:
        """Whether the event was delivered or failed for good."""
        return self._state != PENDING

    def result(self, timeout: float | None = None) -> int:
        """The commit position of the append that wrote the event; raises why it failed.

        Raises ``TimeoutError`` when the event is still pending after ``timeout`` seconds.
        """
        if not self._buffer.wait(self.done, timeout):
            raise TimeoutError(f"event for stream {self.stream!r} still pending after {timeout}s")
        if self._error is not None:
            raise self._error
        return self._position

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Why the event failed, or None when it was delivered."""
        if not self._buffer.wait(self.done, timeout):
            raise TimeoutError(f"event for stream {self.stream!r} still pending after {timeout}s")
        return self._error

    def __repr__(self) -> str:
        state = ("pending", "delivered", "failed")[self._state]
        return f"<Receipt {self.stream!r} {state}>"


class Buffer:
    """Queued and in-flight events of one writer, and its counters; see the module docs.

    The worker sleeps on ``wakeup``; ``add`` sets it only when the worker said it is idle (an
    empty queue) or a batch is full, so most submits pay no notify.
    """

    def __init__(
        self, *, max_events: int, max_bytes: int, batch_events: int, block_timeout: float
    ) -> None:
        self.lock = threading.Lock()
        self.space = threading.Condition(self.lock)
        self.progress = threading.Condition(self.lock)
        self.wakeup = threading.Event()
        self.idle = False  # the worker waits on an empty queue: the next event wakes it
        self.queue: collections.deque[Receipt] = collections.deque()
        self.inflight: list[Receipt] = []
        self.count = 0  # events queued + in flight (memory)
        self.bytes = 0  # their encoded bytes (counted once encoded)
        self.next_seq = 1
        self.flushes = 0  # flush() calls waiting: the worker sends without lingering
        self.closing = False  # no new events; send what is left
        self.ended = False  # everything resolved; nothing more will be sent
        self.max_events, self.max_bytes = max_events, max_bytes
        self.batch_events = batch_events
        self.block_timeout = block_timeout
        self.backlog: Callable[[int], bool] = _nothing_before  # spill: events on disk first
        # counters (stats)
        self.sent = self.batches = self.retries = self.stalls = 0
        self.dropped: collections.Counter[str] = collections.Counter()
        self.dead: collections.Counter[str] = collections.Counter()
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.tally = Tally("events not written")

    def over(self) -> bool:
        """Whether the writer ended (a call, so type checkers do not narrow it)."""
        return self.ended

    # -- adding ------------------------------------------------------------------------------

    def add(self, r: Receipt, overflow: Overflow, closed: str) -> object:
        """Queue ``r`` (memory); apply ``overflow`` when full. Returns None, a dropped receipt
        (whose sink the caller tells, outside the lock), ``r`` itself when it was dropped, or
        :data:`SPOOL`. Raises ``QueueFull`` (``block`` timed out) or ``WriterClosed``."""
        with self.lock:
            if self.closing:
                raise WriterClosed(closed)
            dropped: Receipt | None = None
            if self.count >= self.max_events or self.bytes >= self.max_bytes:
                if overflow == "spool":
                    return SPOOL
                if overflow == "drop_newest" or (overflow == "drop_oldest" and not self.queue):
                    return r
                if overflow == "drop_oldest":
                    dropped = self.queue.popleft()
                    self.count -= 1
                    self.bytes -= dropped._counted
                else:
                    self._wait_for_space()
            r._seq = seq = self.next_seq
            self.next_seq = seq + 1
            if _UNTRACK is not None:  # walked by no collection while queued (tracked when done)
                _UNTRACK(r)
            self.queue.append(r)
            self.count = count = self.count + 1
            wake = self.idle or count == self.batch_events
            if wake:
                self.idle = False
        if wake:
            self.wakeup.set()
        return dropped

    def _wait_for_space(self) -> None:
        deadline = time.monotonic() + self.block_timeout
        while self.count >= self.max_events or self.bytes >= self.max_bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closing:
                self.dropped["queue_full_raised"] += 1
                raise QueueFull(
                    f"the writer's queue stayed full for {self.block_timeout}s "
                    f"({self.count} events, {self.bytes} bytes)"
                )
            self.space.wait(remaining)

    def number(self, r: Receipt) -> None:
        """Give ``r`` the next sequence number (with the lock held; spooled events)."""
        r._seq = self.next_seq
        self.next_seq += 1

    # -- the worker's side -------------------------------------------------------------------

    def take(self, n: int) -> list[Receipt]:
        """Up to ``n`` queued events, now in flight (with the lock held)."""
        queue = self.queue
        if len(queue) <= n:  # the whole queue (the common case): one C call, not n
            chunk = list(queue)
            queue.clear()
        else:
            chunk = [queue.popleft() for _ in range(n)]
        self.inflight = chunk
        return chunk

    def done_with(self, chunk: list[Receipt]) -> None:
        """The worker finished ``chunk`` (every event resolved): free its room."""
        freed = sum(r._counted for r in chunk)  # set by this (the worker's) thread only
        with self.lock:
            if self.inflight is chunk:
                self.inflight = []
            self.count -= len(chunk)
            self.bytes -= freed
            self.space.notify_all()
            self.progress.notify_all()

    def deliver(self, items: list[Receipt], position: int, calls: int = 1) -> None:
        track, sent = _TRACK, 0
        with self.lock:  # held briefly: every submit waits for it
            self.batches += calls
            for r in items:
                if r._state == PENDING:  # not failed meanwhile (the writer's close timeout)
                    r._position = position
                    r._state = DELIVERED
                    sent += 1
                    if track is not None:
                        track(r)
            self.sent += sent
            self.progress.notify_all()

    def resolve(
        self, r: Receipt, exc: BaseException, reason: str, *, dead: bool, queued: bool = True
    ) -> bool:
        """Fail ``r`` (once): count it under ``reason`` (dead letter or drop), tell its sink.
        ``queued=False``: ``r`` never entered the queue, so nobody can be waiting for it.

        Returns False when ``r`` was already resolved (nothing counted)."""
        with self.lock:
            if r._state != PENDING:
                return False
            r._error = exc
            r._state = FAILED
            if _TRACK is not None:
                _TRACK(r)
            (self.dead if dead else self.dropped)[reason] += 1
            if queued:
                self.progress.notify_all()
        tell(r, reason, exc)
        return True

    def note_error(self, exc: BaseException) -> None:
        with self.lock:
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.last_error_at = time.time()

    # -- waiting -----------------------------------------------------------------------------

    def resolved_upto(self, target: int) -> bool:
        """Whether every event with ``seq <= target`` is resolved (with the lock held)."""
        queue = self.queue
        if queue and queue[0]._seq <= target:
            return False
        if any(r._state == PENDING and r._seq <= target for r in self.inflight):
            return False
        return not self.backlog(target)

    def wait(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        with self.progress:
            return self.progress.wait_for(predicate, timeout)

    def release(self) -> None:
        """Let the cycle collector walk every receipt still queued or in flight again: this
        buffer is left behind (a forked child's copy of its parent's queue)."""
        if _TRACK is not None:
            for r in (*self.inflight, *self.queue):
                _TRACK(r)

    def settled(self, r: Receipt) -> None:
        """``r`` reached its final state outside :meth:`deliver` and :meth:`resolve` (with the
        lock held): the cycle collector walks it again."""
        if _TRACK is not None:
            _TRACK(r)

    def unresolved(self) -> list[Receipt]:
        """Every event not resolved yet, oldest first (with the lock held)."""
        return [r for r in (*self.inflight, *self.queue) if r._state == PENDING]


def tell(r: Receipt, reason: str, exc: BaseException) -> None:
    """Tell ``r``'s failure sink, if any; whatever it raises is swallowed."""
    sink = r._sink
    if sink is not None:
        try:
            sink.failed(reason, exc)
        except Exception as error:  # the sink's bug must not stop the writer
            report("sink", f"failure sink {sink!r} raised {error!r}")


def failed_receipt(stream: str, event: object, exc: BaseException) -> Receipt:
    """A receipt already failed with ``exc``, for an event no writer accepted:

    failed_receipt("Stream-1", event, WriterClosed("closed")).exception(0)  # WriterClosed
    """
    r = Receipt(_NOWHERE, stream, event, None, None, ANY, 0.0, None)
    r._error, r._state = exc, FAILED
    return r


def _nothing_before(target: int) -> bool:
    return False


_NOWHERE = Buffer(max_events=1, max_bytes=1, batch_events=1, block_timeout=0.0)
"""The buffer of receipts that never entered one (:func:`failed_receipt`)."""
