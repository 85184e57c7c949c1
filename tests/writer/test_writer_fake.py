"""EventWriter on a fake transport: delivery, retries, isolation, closing and reporting, fast."""

from __future__ import annotations

import threading
import time
from uuid import UUID

import pytest
from fakes import FakeTransport
from helpers import Ping

from plumberd_logging.errors import (
    AccessDenied,
    EventTooLarge,
    InvalidEvent,
    PlumberdError,
    QueueFull,
    StreamDeleted,
    Unavailable,
    WriterClosed,
)
from plumberd_logging.writer import EventWriter, FailureSink, RetryPolicy

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.01)


class Sink:
    def __init__(self) -> None:
        self.failures: list[tuple[str, BaseException]] = []

    def failed(self, reason: str, exc: BaseException) -> None:
        self.failures.append((reason, exc))


def writer_threads(writer: EventWriter) -> list[threading.Thread]:
    worker = writer._worker
    return [t for t in (worker.thread, worker.watchdog) if t is not None and t.is_alive()]


def wait_until(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_events_are_delivered_in_order_per_stream() -> None:
    transport = FakeTransport()
    with EventWriter(transport, linger=0, max_batch_events=7) as writer:
        receipts = [writer.submit(f"S-{i % 3}", Ping(n=i)) for i in range(300)]
        assert writer.flush(10)
    for s in range(3):
        assert transport.ids(f"S-{s}") == [r.event_id for r in receipts[s::3]]
    assert all(isinstance(r.result(0), int) for r in receipts)
    assert transport.closes == 1  # the writer released its transport


def test_transient_failures_are_retried_with_the_same_ids() -> None:
    transport = FakeTransport(multi=False)
    transport.fail_next(Unavailable("down"), times=3)
    with EventWriter(transport, linger=0, retry=FAST) as writer:
        receipts = [writer.submit("R-1", Ping(n=i)) for i in range(5)]
        assert writer.flush(10)
        assert writer.stats().retries == 3
    assert transport.ids("R-1") == [r.event_id for r in receipts]


def test_a_refused_event_is_isolated_and_counted_under_its_class_reason() -> None:
    transport = FakeTransport(multi=False)
    sink = Sink()
    writer = EventWriter(transport, linger=30)
    events = [Ping(n=i) for i in range(10)]
    transport.reject(events[6].id, StreamDeleted("gone"))
    receipts = [writer.submit("B-1", e, sink=sink) for e in events]
    assert writer.flush(10)
    assert transport.ids("B-1") == [e.id for i, e in enumerate(events) if i != 6]
    assert isinstance(receipts[6].exception(0), StreamDeleted)
    assert writer.stats().dead_lettered == {"stream_deleted": 1}
    assert [reason for reason, _ in sink.failures] == ["stream_deleted"]
    writer.close()


def test_without_multi_stream_support_streams_share_one_call_each_atomic_alone() -> None:
    transport = FakeTransport(multi=False)
    with EventWriter(transport, linger=30) as writer:
        receipts = [writer.submit(f"M-{i % 3}", Ping(n=i)) for i in range(6)]
        assert writer.flush(10)
        assert writer._multi is False
    assert transport.calls["append_each"] == 1
    assert transport.calls["append"] == 0
    for s in range(3):
        assert transport.ids(f"M-{s}") == [r.event_id for r in receipts[s::3]]


def test_a_transport_without_append_each_gets_one_append_per_stream() -> None:
    fake = FakeTransport(multi=False)

    class Older:  # a Transport written before append_each existed
        url = fake.url
        append, multi_append = fake.append, fake.multi_append
        reset, close = fake.reset, fake.close

    with EventWriter(Older(), linger=30) as writer:  # type: ignore[arg-type]
        for i in range(6):
            writer.submit(f"T-{i % 3}", Ping(n=i))
        assert writer.flush(10)
    assert fake.calls["append"] == 3
    assert len(fake.ids()) == 6


def test_one_append_of_a_call_failing_transiently_is_retried_alone() -> None:
    transport = FakeTransport(multi=False)
    with EventWriter(transport, linger=30, retry=FAST) as writer:
        events = [Ping(n=i) for i in range(9)]
        transport.reject(events[4].id, Unavailable("leader moving"), times=1)  # stream E-1
        for i, event in enumerate(events):
            writer.submit(f"E-{i % 3}", event)
        assert writer.flush(10)
        assert writer.stats().retries == 1
    # each stream's events once, in order: E-0 and E-2 were not sent again
    for s in range(3):
        assert transport.ids(f"E-{s}") == [e.id for e in events[s::3]]
    assert transport.calls["append_each"] == 1
    assert transport.calls["append"] == 1  # the retry: E-1 alone


@pytest.mark.parametrize("denied", [True, False], ids=["access-denied", "bad-request"])
def test_a_refusal_of_the_whole_call_is_each_appends(denied: bool) -> None:
    transport = FakeTransport(multi=False)
    refusal = AccessDenied("denied") if denied else InvalidEvent("bad request")
    transport.fail_next(refusal)  # the call that carries every stream
    sink = Sink()
    with EventWriter(transport, linger=30, multi_stream="never") as writer:
        receipts = [writer.submit(f"R-{i % 3}", Ping(n=i), sink=sink) for i in range(6)]
        assert writer.flush(10)
    assert transport.calls["append_each"] == 1
    if denied:  # the same user for every stream: all refused, none sent again
        assert all(type(r.exception(0)) is AccessDenied for r in receipts)
        assert transport.calls["append"] == 0
        assert [reason for reason, _ in sink.failures] == ["access_denied"] * 6
    else:  # not knowing which append caused it: each sent alone, all written
        assert all(r.exception(0) is None for r in receipts)
        assert transport.calls["append"] == 3
        assert sorted(transport.ids()) == sorted(r.event_id for r in receipts if r.event_id)


def test_one_refused_append_of_a_call_is_isolated_to_its_event() -> None:
    transport = FakeTransport(multi=False)
    sink = Sink()
    with EventWriter(transport, linger=30) as writer:
        events = [Ping(n=i) for i in range(12)]
        transport.reject(events[7].id, StreamDeleted("gone"))  # stream F-1
        receipts = [writer.submit(f"F-{i % 3}", e, sink=sink) for i, e in enumerate(events)]
        assert writer.flush(10)
    assert isinstance(receipts[7].exception(0), StreamDeleted)
    assert [reason for reason, _ in sink.failures] == ["stream_deleted"]
    assert transport.ids("F-1") == [e.id for e in events[1::3] if e is not events[7]]
    assert transport.ids("F-0") == [e.id for e in events[0::3]]


def test_close_timeout_resolves_every_receipt_and_stops_retrying(
    capsys: pytest.CaptureFixture[str],
) -> None:
    transport = FakeTransport()
    transport.hang()
    sink = Sink()
    writer = EventWriter(transport, linger=0, retry=FAST)
    receipts = [writer.submit("C-1", Ping(n=i), sink=sink) for i in range(5)]
    assert wait_until(transport.hanging.is_set)
    more = [writer.submit("C-1", Ping(n=i), sink=sink) for i in range(5)]  # queued behind
    start = time.monotonic()
    assert writer.close(0.3) is False
    assert time.monotonic() - start < 2.0
    for r in (*receipts, *more):
        exc = r.exception(0)  # resolved: no wait
        assert isinstance(exc, WriterClosed)
        assert "not confirmed within close_timeout=0.3s" in str(exc)
    assert writer.stats().dropped == {"closed": 10}
    assert [reason for reason, _ in sink.failures] == ["closed"] * 10
    assert wait_until(lambda: not writer_threads(writer))
    err = capsys.readouterr().err
    assert err.count("10 events not confirmed by fake://transport within close_timeout=0.3s") == 1
    time.sleep(0.2)
    assert capsys.readouterr().err == ""  # nothing retried or printed after the close


def test_close_zero_finishes_in_the_background_within_close_timeout() -> None:
    transport = FakeTransport()
    transport.hang()
    writer = EventWriter(transport, linger=0, close_timeout=0.3)
    receipt = writer.submit("Z-1", Ping(n=1))
    assert wait_until(transport.hanging.is_set)
    start = time.monotonic()
    assert writer.close(timeout=0) is False
    assert time.monotonic() - start < 0.5
    assert isinstance(receipt.exception(5), WriterClosed)
    assert wait_until(lambda: not writer_threads(writer))
    assert transport.closes == 1


def test_close_zero_with_a_working_transport_still_delivers() -> None:
    transport = FakeTransport()
    writer = EventWriter(transport, linger=30)
    receipts = [writer.submit("Z-2", Ping(n=i)) for i in range(20)]
    assert writer.close(timeout=0) is False
    assert all(isinstance(r.result(5), int) for r in receipts)
    assert wait_until(lambda: not writer_threads(writer))
    assert transport.ids("Z-2") == [r.event_id for r in receipts]


def test_after_close_flush_and_close_return_at_once() -> None:
    transport = FakeTransport()
    transport.hang()
    writer = EventWriter(transport, linger=0)
    writer.submit("A-1", Ping(n=1))
    assert wait_until(transport.hanging.is_set)
    writer.close(0.2)
    start = time.monotonic()
    assert writer.flush(10) is True  # everything is resolved (failed)
    assert writer.close(10) is False
    assert time.monotonic() - start < 0.5
    with pytest.raises(WriterClosed):
        writer.submit("A-1", Ping(n=2))


def test_dead_letters_print_the_first_then_a_summary_by_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    transport = FakeTransport()
    writer = EventWriter(transport, linger=30, max_append_size=2000, max_batch_bytes=2000)
    for _ in range(3):
        writer.submit("D-1", {"Bad": float("nan")}, event_type="Bad")
    writer.submit("D-1", {"Big": "x" * 5000}, event_type="Big")
    writer.submit("D-1", {"Bad": float("nan")}, event_type="Bad")
    assert writer.flush(10)
    first = capsys.readouterr().err
    assert first.count("event not written (invalid)") == 1
    writer.close()
    err = capsys.readouterr().err
    assert "plumberd-logging: 4 more events not written, by reason: invalid 3, too_large 1" in err
    assert writer.stats().dead_lettered == {"invalid": 4, "too_large": 1}


def test_drops_tell_the_sink_of_the_event_dropped() -> None:
    transport = FakeTransport()
    transport.hang()
    newest, oldest = Sink(), Sink()
    writer = EventWriter(transport, linger=0, max_queue_events=1, overflow="drop_newest")
    writer.submit("Q-1", Ping(n=0))
    assert wait_until(transport.hanging.is_set)  # in flight: the queue is full
    dropped = writer.submit("Q-1", Ping(n=1), sink=newest)
    assert isinstance(dropped.exception(0), QueueFull)
    assert [r for r, _ in newest.failures] == ["queue_full"]
    transport.release()
    assert writer.flush(10)
    transport.hang()
    writer.submit("Q-2", Ping(n=2))
    assert wait_until(transport.hanging.is_set)
    writer._buffer.max_events = 2  # room for one queued event behind the one in flight
    first = writer.submit("Q-2", Ping(n=3), sink=oldest, overflow="drop_oldest")
    writer.submit("Q-2", Ping(n=4), overflow="drop_oldest")
    assert isinstance(first.exception(0), QueueFull)
    assert [r for r, _ in oldest.failures] == ["queue_full"]
    assert writer.stats().dropped == {"queue_full": 2}
    transport.release()
    writer.close()


def test_an_overload_says_so_once_and_counts_every_drop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    transport = FakeTransport()
    transport.hang()
    writer = EventWriter(transport, linger=0, max_queue_events=1, overflow="drop_newest")
    writer.submit("O-1", Ping(n=0))
    assert wait_until(transport.hanging.is_set)  # in flight: the queue is full
    dropped = [writer.submit("O-1", Ping(n=i)) for i in range(1, 501)]
    assert all(isinstance(r.exception(0), QueueFull) for r in dropped)
    assert writer.stats().dropped == {"queue_full": 500}
    lines = [line for line in capsys.readouterr().err.splitlines() if "dropping" in line]
    assert lines == [
        "plumberd-logging: queue full: dropping events (drop_newest); 1 dropped so far"
    ]
    transport.release()
    writer.close()
    assert "500 events were dropped while the queue was full" in capsys.readouterr().err


def test_drop_oldest_wakes_whoever_waits_for_the_dropped_event() -> None:
    transport = FakeTransport()
    transport.hang()
    writer = EventWriter(transport, linger=0, max_queue_events=2, overflow="drop_oldest")
    writer.submit("W-1", Ping(n=0))
    assert wait_until(transport.hanging.is_set)
    queued = writer.submit("W-1", Ping(n=1))
    seen: list[BaseException | None] = []
    waiter = threading.Thread(target=lambda: seen.append(queued.exception(timeout=30)))
    waiter.start()
    writer.submit("W-1", Ping(n=2))  # full: the oldest queued event (n=1) makes room
    waiter.join(10)
    assert not waiter.is_alive()
    assert len(seen) == 1 and isinstance(seen[0], QueueFull)
    transport.release()
    writer.close()


def test_a_failing_sink_never_stops_the_writer() -> None:
    class Broken:
        def failed(self, reason: str, exc: BaseException) -> None:
            raise RuntimeError("sink bug")

    sink: FailureSink = Broken()
    transport = FakeTransport()
    with EventWriter(transport, linger=0) as writer:
        bad = writer.submit("F-1", {"Bad": float("nan")}, event_type="Bad", sink=sink)
        good = writer.submit("F-1", Ping(n=1), sink=sink)
        assert writer.flush(10)
    assert isinstance(bad.exception(0), InvalidEvent)
    assert isinstance(good.result(0), int)


def test_a_crash_of_the_worker_resolves_everything_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Boom(BaseException):
        pass

    class Exploding:
        def build(self, payload: object) -> tuple[object, str | None]:
            raise Boom("bug")

    transport = FakeTransport()
    writer = EventWriter(transport, linger=30)  # both queued before the worker looks
    r1 = writer.submit_deferred("X-1", None, Exploding())
    r2 = writer.submit("X-1", Ping(n=1))
    writer.flush(10)
    assert r1.done() and r2.done()
    assert isinstance(r2.exception(0), PlumberdError)
    with pytest.raises(WriterClosed):
        writer.submit("X-1", Ping(n=2))
    assert "writer thread failed: Boom: bug" in capsys.readouterr().err
    assert wait_until(lambda: not writer_threads(writer))
    assert transport.closes == 1


def test_event_ids_are_stable_across_retries_for_mappings() -> None:
    transport = FakeTransport(multi=False)
    transport.fail_next(Unavailable("down"))
    with EventWriter(transport, linger=0, retry=FAST) as writer:
        r = writer.submit("I-1", {"A": 1}, event_type="A")
        assert writer.flush(10)
    [stored] = transport.ids("I-1")
    assert isinstance(stored, UUID) and r.event_id == stored


def test_too_large_is_counted_before_sending() -> None:
    transport = FakeTransport()
    with EventWriter(transport, linger=0, max_append_size=100, max_batch_bytes=100) as writer:
        r = writer.submit("T-1", {"Big": "x" * 500}, event_type="Big")
        assert writer.flush(10)
    assert isinstance(r.exception(0), EventTooLarge)
    assert transport.calls["append"] + transport.calls["multi_append"] == 0
