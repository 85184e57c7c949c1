"""The writer's thread and its watchdog; the worker owns every way the writer ends.

    worker = Worker(buffer, spill, transport, options)
    worker.start()                    # on the first submit
    worker.stop(timeout=5)            # deliver what is queued within 5 s, then end
    worker.stop(0, wait=False)        # return at once; ends in the background (close_timeout)

However it ends (everything sent, ``stop`` timing out, a background deadline, interpreter exit,
a crash), :meth:`Worker.end` runs once: every receipt still pending is resolved (failed with
the reason), the watchdog stops, the transport and the spool (its file lock) are released, and
one stderr line says how many events were not confirmed and where they are.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from plumberd_logging._buffer import FAILED, PENDING, Buffer, Receipt
from plumberd_logging._delivery import Delivery, Stopped
from plumberd_logging._diagnostics import library_thread, report
from plumberd_logging._ids import id_text, new_event_id
from plumberd_logging._retry import RetryPolicy
from plumberd_logging._spill import Spill
from plumberd_logging._transport import Transport
from plumberd_logging.codec import Codec, EncodedEvent
from plumberd_logging.errors import (
    EventTooLarge,
    InvalidEvent,
    NotLeader,
    PlumberdError,
    TlsError,
    TransientError,
    WriterClosed,
)

__all__ = ["Options", "Worker"]

T = TypeVar("T")

_QUEUE_DROPS = frozenset({"queue_full", "queue_full_raised", "spool_full"})
_MAPPINGS: dict[type, bool] = {}  # per event class: a Mapping (an ABC check done once)
WINDOW = 4  # a chunk holds up to this many batches' worth of events


@dataclasses.dataclass(frozen=True)
class Options:
    """What the worker needs of the writer's options (validated by ``EventWriter``)."""

    batch_events: int
    batch_bytes: int
    linger: float
    retry: RetryPolicy
    append_timeout: float | None
    stall_timeout: float
    close_timeout: float
    max_append: int
    multi: bool | None
    codec: Codec
    on_delivered: Callable[[Receipt], object] | None
    on_failed: Callable[[Receipt, BaseException], object] | None


class _Outlived(threading.local):
    on = False  # this thread's call outlived its connection


_outlived = _Outlived()


class Worker:
    """Sends what the buffer holds; see the module docs."""

    def __init__(
        self, buffer: Buffer, spill: Spill | None, transport: Transport, options: Options
    ) -> None:
        self.buffer = buffer
        self.spill = spill
        self.transport = transport
        self.options = options
        self.thread: threading.Thread | None = None
        self.watchdog: threading.Thread | None = None
        self.call_started: float | None = None  # when the current append began
        self.deadline: float | None = None  # stop(): when to give up on what is left
        self.close_timeout = options.close_timeout  # the one the deadline came from
        self.alarm = threading.Event()  # wakes the watchdog (a deadline was set, or the end)
        self.backoff = threading.Event()  # set by stop() to cut a retry wait short
        self.released = False
        self.delivery = Delivery(
            transport,
            batch_events=options.batch_events,
            batch_bytes=options.batch_bytes,
            timeout=options.append_timeout,
            delivered=self._delivered,
            rejected=lambda r, exc: self.dead_letter(r, exc.dead_letter_reason, exc),
            call=self._call,
            stopped=lambda: self.buffer.ended,
            multi=options.multi,
        )

    # -- starting and stopping ---------------------------------------------------------------

    def start(self) -> bool:
        """Start the worker and its watchdog; False when they run already."""
        with self.buffer.lock:
            if self.thread is not None:
                return False
            self.thread = threading.Thread(target=self._run, name="plumberd-writer", daemon=True)
            self.watchdog = threading.Thread(
                target=self._watch, name="plumberd-watchdog", daemon=True
            )
        self.thread.start()
        self.watchdog.start()
        return True

    @property
    def started(self) -> bool:
        return self.thread is not None

    def stop(self, timeout: float, *, wait: bool = True) -> bool:
        """Deliver what is queued within ``timeout`` seconds, then end (see the module docs).

        ``wait=False`` returns at once: the worker keeps delivering in the background and
        ends by itself, at the latest after ``timeout``. True when everything was delivered."""
        buffer = self.buffer
        with buffer.lock:
            buffer.closing = True
            buffer.idle = False
            buffer.space.notify_all()
            if not buffer.ended:
                deadline = time.monotonic() + timeout
                if self.deadline is None or deadline < self.deadline:
                    self.deadline, self.close_timeout = deadline, timeout
            target = buffer.next_seq - 1
        buffer.wakeup.set()
        self.backoff.set()
        self.alarm.set()
        if self.thread is None:  # never started: nothing queued in memory
            self.end(None)
            return self.delivered_upto(target)
        if not wait:
            return False
        buffer.wait(lambda: buffer.ended, timeout)
        if not buffer.ended:
            self.end(None)  # time is up: fail what is left, release everything
        thread = self.thread
        if thread is not threading.current_thread():
            thread.join(0.5)  # it leaves at once unless a call hangs (the channel is closed)
        return self.delivered_upto(target)

    def delivered_upto(self, target: int) -> bool:
        """Whether events up to ``target`` were resolved before the writer ended."""
        with self.buffer.lock:
            return self.buffer.resolved_upto(target) and self._left == 0

    _left = 0  # events end() found unresolved

    def end(self, error: PlumberdError | None, *, reported: bool = False) -> None:
        """Resolve everything still pending (with ``error``, or as not confirmed in time),
        stop the watchdog, release the transport and the spool; runs once."""
        buffer, spill = self.buffer, self.spill
        with buffer.lock:
            if buffer.ended:
                return
            buffer.ended = buffer.closing = True
            left = buffer.unresolved()
            spilled = spill.take_spilled() if spill is not None else []
            buffer.queue.clear()
            buffer.inflight = []
            buffer.count = buffer.bytes = 0
            self._left = len(left) + len(spilled)
            buffer.space.notify_all()
            buffer.progress.notify_all()
        self.alarm.set()
        self.backoff.set()
        buffer.wakeup.set()
        where = f"kept in the spool {spill.directory}" if spill is not None else "lost"
        if error is None:
            error = WriterClosed(
                f"not confirmed within close_timeout={self.close_timeout:g}s; {where}"
            )
        on_disk = [r for r in left if r._spool_seq is not None] + spilled
        if on_disk:  # the next writer sends them: not a loss, nothing counted
            with buffer.lock:
                for r in on_disk:
                    r._error, r._state = error, FAILED
                    buffer.settled(r)
                buffer.progress.notify_all()
        for r in left:
            if r._spool_seq is None:
                buffer.resolve(r, error, error.dead_letter_reason, dead=False)
        with buffer.lock:
            drops = {k: v for k, v in buffer.dropped.items() if k in _QUEUE_DROPS}
        if drops:
            report(
                "exit_dropped",
                f"{sum(drops.values())} events were dropped while the queue was full "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(drops.items()))})",
                force=True,
            )
        if self._left and not reported:
            report("exit", self._exit_line(self._left), force=True)
        buffer.tally.summarize(force=True)
        self._release()

    def _exit_line(self, left: int) -> str:
        url = self.transport.url
        if self.spill is not None:
            return (
                f"{left} events not confirmed by {url} within close_timeout="
                f"{self.close_timeout:g}s; kept in the spool {self.spill.directory} and sent "
                "by the next writer that opens it"
            )
        return (
            f"{left} events not confirmed by {url} within close_timeout={self.close_timeout:g}s "
            "before the writer closed; they are lost unless the server stored them before the "
            "connection failed"
        )

    def _release(self) -> None:
        with self.buffer.lock:
            if self.released:
                return
            self.released = True
        try:
            self.transport.close()
        finally:
            if self.spill is not None:
                self.spill.close()

    # -- the watchdog --------------------------------------------------------------------------

    def _watch(self) -> None:
        """Ends the writer at its stop deadline; replaces a worker whose append hangs past
        ``stall_timeout``; writes the failure summary every few seconds."""
        library_thread()
        interval = min(1.0, self.options.stall_timeout / 4)
        pid = os.getpid()
        while os.getpid() == pid:
            deadline = self.deadline
            wait = interval
            if deadline is not None:
                wait = max(0.0, min(interval, deadline - time.monotonic()))
            if self.alarm.wait(wait):
                self.alarm.clear()
            if self.buffer.ended:
                return
            self.buffer.tally.summarize()
            if deadline is not None and time.monotonic() >= deadline:
                self.end(None)
                return
            started = self.call_started
            if started is not None and time.monotonic() - started > self.options.stall_timeout:
                self._replace_worker()

    def _replace_worker(self) -> None:
        """Abandon the stuck worker: its events go back to the front of the queue, and a new
        thread on a new connection sends them again (same ids, so the server keeps one copy)."""
        buffer = self.buffer
        with buffer.lock:
            if self.call_started is None or buffer.ended:
                return
            self.call_started = None
            chunk, buffer.inflight = buffer.inflight, []
            for r in reversed(chunk):
                if r.done():
                    buffer.count -= 1
                    buffer.bytes -= r._counted
                else:
                    buffer.queue.appendleft(r)
            thread = threading.Thread(target=self._run, name="plumberd-writer", daemon=True)
            self.thread = thread
            buffer.stalls += 1
        report(
            "stall",
            f"an append to {self.transport.url} did not return within "
            f"{self.options.stall_timeout:g}s; resending its events on a new connection "
            "(same event ids)",
        )
        self.transport.reset()
        try:
            thread.start()
        except RuntimeError as exc:  # no threads at interpreter exit (CPython 3.12.0-3.12.2)
            report("stall", f"could not start a new writer thread: {exc}", force=True)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """An append on the worker's thread, watched for stalls; a worker abandoned meanwhile
        stops here (its events were given to its replacement)."""
        self.call_started = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            if self.buffer.over() or threading.current_thread() is not self.thread:
                _outlived.on = True  # its connection was let go under it: see _run
            if threading.current_thread() is self.thread:
                self.call_started = None
            else:
                raise Stopped

    # -- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        library_thread()
        try:
            self._work()
        finally:
            if _outlived.on:
                # A call that outlived its connection (closed or replaced under it) leaves
                # kurrentdbclient's and gRPC's exceptions in reference cycles that hold the
                # connection's socket until a full garbage collection: collect it now.
                _outlived.on = False
                gc.collect()

    def _work(self) -> None:
        try:
            while True:
                chunk = self._next_chunk()
                if chunk is None:
                    break
                self._send_chunk(chunk)
        except RuntimeError as exc:
            if self.buffer.over():
                return
            if "interpreter shutdown" not in str(exc):
                self._crashed(exc)
                return
            # CPython 3.12.0-3.12.2 (gh-113964) forbid new threads once the interpreter exits,
            # and gRPC starts one per streaming call: nothing can be sent any more.
            with self.buffer.lock:
                left = len(self.buffer.unresolved())
                left += len(self.spill.spilled) if self.spill is not None else 0
            where = (
                f"kept in the spool {self.spill.directory}" if self.spill is not None else "lost"
            )
            message = (
                f"{left} events not sent at exit ({where}): this Python forbids starting "
                "threads during shutdown, which gRPC needs (CPython gh-113964, fixed in "
                "3.12.3); call flush() before exiting, or upgrade Python"
            )
            if left:
                report("exit_threads", message, force=True)
            self.end(WriterClosed(message), reported=True)
        except BaseException as exc:
            if self.buffer.over() or threading.current_thread() is not self.thread:
                return  # ended (its connection closed under a call) or abandoned: expected
            self._crashed(exc)

    def _crashed(self, exc: BaseException) -> None:
        """A bug: say so once, fail what is pending, never hang."""
        message = f"writer thread failed: {type(exc).__name__}: {exc}"
        report("writer_crash", message, force=True)
        self.end(_Crashed(message), reported=True)

    def _next_chunk(self) -> list[Receipt] | None:
        buffer, spill = self.buffer, self.spill
        linger = self.options.linger
        window = self.options.batch_events * WINDOW
        while True:
            with buffer.lock:
                if buffer.ended or threading.current_thread() is not self.thread:
                    return None  # ended, or replaced after a stall
                if not buffer.queue and spill is not None and spill.active:
                    buffer.lock.release()
                    try:
                        loaded = spill.load(window)
                    finally:
                        buffer.lock.acquire()
                    if loaded:
                        return loaded
                if not buffer.queue:
                    if buffer.closing and not (spill is not None and spill.active):
                        break  # everything sent: end below
                    buffer.wakeup.clear()
                    buffer.idle = True
                    timeout: float | None = None
                else:
                    due = buffer.queue[0]._created + linger
                    now = time.time()
                    if (
                        len(buffer.queue) >= buffer.batch_events
                        or now >= due
                        or buffer.flushes
                        or buffer.closing
                    ):
                        return buffer.take(window)
                    buffer.wakeup.clear()
                    buffer.idle = False
                    timeout = due - now
            buffer.wakeup.wait(timeout)
        self.end(None)
        return None

    def _send_chunk(self, chunk: list[Receipt]) -> None:
        buffer = self.buffer
        encoded = [r for r in chunk if r._encoded is None and self._encode(r)]
        if encoded:  # their bytes counted in the queue's total at once (one lock, not one each)
            with buffer.lock:
                size = 0
                for r in encoded:
                    r._counted = r._size
                    size += r._size
                buffer.bytes += size
        pending = [r for r in chunk if r._state == PENDING]
        attempt = 0
        first_failure: float | None = None
        while pending and not buffer.ended:
            try:
                self.delivery.send(pending)
            except Stopped:
                return  # ended or abandoned under us: end() resolved everything
            except TransientError as exc:
                if buffer.over():
                    return
                now = time.monotonic()
                first_failure = first_failure or now
                buffer.note_error(exc)
                give_up = self.options.retry.give_up_after
                if give_up is not None and now - first_failure >= give_up:
                    for r in pending:
                        self.dead_letter(r, exc.dead_letter_reason, exc)
                    break
                self._report_retry(exc)
                buffer.retries += 1
                delay = self.options.retry.backoff(attempt)
                attempt += 1
                self._encode_waiting(time.monotonic() + delay)
                if self.backoff.wait(delay) and not buffer.ended:
                    self.backoff.clear()  # stop() cuts the wait short once
            pending = [r for r in pending if r._state == PENDING]
        buffer.done_with(chunk)

    def _report_retry(self, exc: TransientError) -> None:
        """One stderr line per interval and kind; TLS and not-leader failures say what to fix."""
        if isinstance(exc, TlsError):
            report("retry:tls", f"cannot connect securely; events are kept and retried: {exc}")
            self.transport.reset()  # the next attempt re-reads the CA file (it may be fixed)
        elif isinstance(exc, NotLeader):
            report("retry:not_leader", f"append refused, retrying with the same ids: {exc}")
        else:
            report("retry", f"append failed, retrying with the same event ids: {exc}")

    def _encode_waiting(self, deadline: float) -> None:
        """While waiting to retry, encode queued events: their bytes then count against
        ``max_queue_bytes`` (so the bound holds during an outage) and the objects they kept
        alive (log records, arguments) are released."""
        buffer = self.buffer
        while time.monotonic() < deadline and not buffer.ended:
            with buffer.lock:
                todo = [r for r in list(buffer.queue)[:2000] if r._encoded is None]
            if not todo:
                return
            for r in todo[:200]:
                if r.done() or r._encoded is not None or not self._encode(r):
                    continue
                with buffer.lock:
                    if not r.done():  # not dropped meanwhile (drop_oldest)
                        r._counted = r._size
                        buffer.bytes += r._size

    # -- outcomes ------------------------------------------------------------------------------

    def encode(self, r: Receipt) -> bool:
        """Encode ``r`` once (its id is fixed from here on); dead-letter it if it cannot be."""
        return self._encode(r)

    def _encode_json(
        self, r: Receipt, build_json: Callable[[object, str], tuple[bytes, str] | None]
    ) -> bool | None:
        """Encode ``r`` from its builder's JSON body (as :meth:`_encode`: False when it is
        dead-lettered); None when the builder leaves it to ``build`` (nothing changed)."""
        event_id = new_event_id()
        built = build_json(r._event, id_text(event_id))
        if built is None:
            return None
        data, built_type = built
        r._encoded = encoded = self.options.codec.encode_json(
            data,
            event_id,
            r._event_type or built_type,
            r._metadata,
            created=r._created,
            context=r._context,
        )
        return self._encoded_checks(r, encoded)

    def _encode(self, r: Receipt) -> bool:
        options = self.options
        try:
            event, event_type = r._event, r._event_type
            builder = r._builder
            if builder is not None:
                fast = getattr(builder, "build_json", None)  # optional: the body as JSON
                done = None if fast is None else self._encode_json(r, fast)
                if done is not None:
                    return done
                event, built_type = builder.build(event)
                event_type = event_type or built_type
            event_id = None
            cls = type(event)
            mapping = _MAPPINGS.get(cls)
            if mapping is None:
                mapping = _MAPPINGS[cls] = issubclass(cls, Mapping)
            if mapping and "Id" not in event:  # type: ignore[operator]
                event_id = new_event_id()
            r._encoded = encoded = options.codec.encode(
                event,
                r._metadata,
                event_type=event_type,
                event_id=event_id,
                created=r._created,
                context=r._context,
            )
        except InvalidEvent as exc:
            self.dead_letter(r, "invalid", exc)
            return False
        except Exception as exc:  # a bug in a user's object (a property raising, ...)
            self.dead_letter(r, "invalid", InvalidEvent(f"{type(exc).__name__}: {exc}"))
            return False
        return self._encoded_checks(r, encoded)

    def _encoded_checks(self, r: Receipt, encoded: EncodedEvent) -> bool:
        """Size ``r`` (now encoded); dead-letter it when the server would refuse it."""
        r._size = size = len(encoded.data) + len(encoded.metadata)
        meta = r._metadata
        r._strings_only = meta is None or all(isinstance(v, str) for v in meta.custom.values())
        if size > self.options.max_append:
            too_large = EventTooLarge(
                f"event {encoded.id} ({encoded.type}) is {size} bytes; the server accepts at "
                f"most {self.options.max_append} per append"
            )
            self.dead_letter(r, too_large.dead_letter_reason, too_large)
            return False
        r._event = r._metadata = r._context = None  # encoded now; drop the references
        return True

    def _delivered(self, items: list[Receipt], position: int) -> None:
        # Off the spool first: once a flush() sees them delivered, a crash replays nothing.
        if self.spill is not None and not self.buffer.ended:  # else the spool is closed
            self.spill.forget(items)
        self.buffer.deliver(items, position)
        on_delivered = self.options.on_delivered
        if on_delivered is not None:
            for r in items:
                _callback(on_delivered, r)

    def dead_letter(self, r: Receipt, reason: str, exc: BaseException) -> None:
        """``r`` will never be written: count it, keep its spool row, say so, tell callbacks."""
        if self.spill is not None:
            self.spill.dead_letter(r, f"{reason}: {exc}")
        if not self.buffer.resolve(r, exc, reason, dead=True):
            return
        self.buffer.note_error(exc)
        encoded = r._encoded
        what = f"{encoded.type} {encoded.id}" if encoded else f"event for {r.stream!r}"
        self.buffer.tally.note(reason, f"event not written ({reason}): {what}: {exc}")
        on_failed = self.options.on_failed
        if on_failed is not None:
            _callback(on_failed, r, exc)


class _Crashed(PlumberdError):
    """The writer's thread failed (a bug); its events were not sent."""

    dead_letter_reason = "crashed"


def _callback(fn: Callable[..., object], *args: object) -> None:
    try:
        fn(*args)
    except Exception as exc:
        report("callback", f"callback {getattr(fn, '__name__', fn)!r} raised {exc!r}")
