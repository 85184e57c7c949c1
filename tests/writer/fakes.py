"""A scripted ``Transport`` for writer unit tests: no server, no gRPC, milliseconds per test.

transport = FakeTransport()
transport.fail_next(Unavailable("down"), times=2)   # the next two calls fail
transport.reject(event_id, EventTooLarge("big"))     # appends holding this event fail
transport.reject(event_id, Unavailable("x"), times=1)  # ... the next one only
transport.hang()                                     # calls block until release()/close()
writer = EventWriter(transport, linger=0)
assert transport.ids("Order-1") == [...]
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from uuid import UUID

from plumberd_logging._transport import Batch
from plumberd_logging.codec import EncodedEvent
from plumberd_logging.errors import PlumberdError, Unavailable, Unsupported
from plumberd_logging.streams import StreamState


class FakeTransport:
    """Stores appended events per stream; failures, rejections and hangs are scripted."""

    url = "fake://transport"

    def __init__(self, *, multi: bool = True) -> None:
        self.multi = multi
        self.streams: dict[str, list[EncodedEvent]] = collections.defaultdict(list)
        self.calls: collections.Counter[str] = collections.Counter()
        self.resets = 0
        self.closes = 0
        self._lock = threading.Lock()
        self._failures: collections.deque[BaseException] = collections.deque()
        self._rejected: dict[UUID, BaseException] = {}
        self._rejections_left: dict[UUID, int] = {}
        self._released = threading.Event()
        self._released.set()
        self.hanging = threading.Event()  # set while a call is held by hang()

    # -- scripting -------------------------------------------------------------------------------

    def fail_next(self, exc: BaseException, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([exc] * times)

    def reject(self, event_id: UUID, exc: BaseException, *, times: int | None = None) -> None:
        """Appends holding ``event_id`` fail with ``exc`` (the next ``times``; None: all)."""
        self._rejected[event_id] = exc
        if times is not None:
            self._rejections_left[event_id] = times

    def hang(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    # -- what was stored -------------------------------------------------------------------------

    def ids(self, stream: str | None = None) -> list[UUID]:
        with self._lock:
            if stream is not None:
                return [e.id for e in self.streams.get(stream, [])]
            return [e.id for events in self.streams.values() for e in events]

    # -- Transport -------------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[EncodedEvent],
        expected: int | StreamState,
        *,
        timeout: float | None,
    ) -> int:
        self._enter("append")
        return self._store([(stream, expected, events)])

    def multi_append(self, batches: Sequence[Batch], *, timeout: float | None) -> int:
        self._enter("multi_append")
        if not self.multi:
            raise Unsupported("multi-stream appends need KurrentDB 25.1")
        return self._store(batches)

    def append_each(
        self, batches: Sequence[Batch], *, timeout: float | None
    ) -> list[int | PlumberdError]:
        self._enter("append_each")
        results: list[int | PlumberdError] = []
        for batch in batches:
            try:
                results.append(self._store([batch]))
            except PlumberdError as exc:
                results.append(exc)
        return results

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closes += 1
        self._released.set()  # like a closed channel: a hung call ends

    # -- internals -------------------------------------------------------------------------------

    def _enter(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1
            failure = self._failures.popleft() if self._failures else None
        if not self._released.is_set():
            self.hanging.set()
            self._released.wait()
            self.hanging.clear()
            if self.closes:
                raise Unavailable("channel closed")
        if failure is not None:
            raise failure

    def _store(self, batches: Sequence[Batch]) -> int:
        for _, _, events in batches:
            for e in events:
                if e.id in self._rejected:
                    exc = self._rejected[e.id]
                    left = self._rejections_left.get(e.id)
                    if left is not None:
                        self._rejections_left[e.id] = left - 1
                        if left <= 1:
                            del self._rejected[e.id]
                    raise exc
        with self._lock:
            for stream, _, events in batches:
                self.streams[stream].extend(events)
            return sum(len(v) for v in self.streams.values())


__all__ = ["FakeTransport"]
