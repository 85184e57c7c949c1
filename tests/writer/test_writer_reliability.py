"""EventWriter under failure: outages, post-commit errors, bad events, full queues.

Every test counts events on the server by id: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from helpers import Ping, ids_on_server, numbers

from plumberd_logging import QueueFull
from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter, Receipt, RetryPolicy

FAST_RETRY = RetryPolicy(initial_backoff=0.05, max_backoff=0.5)


def wait_inflight(store: InMemoryEventStore) -> None:
    """Wait until the writer has an append held by a hang fault."""
    store.wait_for(lambda: store.calls["BatchAppend"] + store.calls["AppendSession"] >= 1)


@pytest.mark.slow
def test_server_down_for_seconds_loses_and_duplicates_nothing(
    eventstore: InMemoryEventStore,
) -> None:
    streams = [f"Load-{i}" for i in range(5)]
    # append_timeout=2: an append caught by the stop that hangs past its deadline (grpcio can)
    # is abandoned by the stall watchdog after 2 * 2 + 5 s and sent again, same ids.
    writer = EventWriter(eventstore.url, retry=FAST_RETRY, block_timeout=60, append_timeout=2)
    receipts: list[Receipt] = []
    slowest = 0.0
    outage = threading.Event()

    def produce() -> None:
        nonlocal slowest
        for i in range(6000):
            start = time.perf_counter()
            receipts.append(writer.submit(streams[i % 5], Ping(n=i)))
            slowest = max(slowest, time.perf_counter() - start)
            if i == 2000:
                outage.set()
            if i % 200 == 0:
                time.sleep(0.01)  # a steady producer, not one burst

    producer = threading.Thread(target=produce)
    producer.start()
    assert outage.wait(30)
    eventstore.stop()
    down_since = time.monotonic()
    eventstore.wait_for(lambda: writer.stats().retries >= 2, timeout=30)
    time.sleep(max(0.0, 3 - (time.monotonic() - down_since)))  # the outage lasts 3 s
    eventstore.start()
    producer.join(60)
    assert writer.flush(60)
    stats = writer.stats()
    writer.close()

    counts = ids_on_server(eventstore, streams)
    assert len(counts) == 6000
    assert set(counts.values()) == {1}  # exactly once each
    assert {r.event_id for r in receipts} == set(counts)
    for s, stream in enumerate(streams):
        assert numbers(eventstore, stream) == list(range(s, 6000, 5))  # order kept
    assert stats.sent == stats.enqueued == 6000
    assert stats.retries >= 2
    assert stats.dropped == {}
    assert slowest < 1.0  # submit never waited out the outage: the queue had room


def test_post_commit_failure_beyond_the_clients_own_retries_writes_once(
    eventstore: InMemoryEventStore,
) -> None:
    # kurrentdbclient retries UNAVAILABLE up to 4 times itself; fail more often than that.
    for rpc in ("BatchAppend", "AppendSession"):
        eventstore.faults.fail(rpc, "UNAVAILABLE", times=6, after_commit=True)
    with EventWriter(eventstore.url, retry=FAST_RETRY) as writer:
        for i in range(50):
            writer.submit(f"Pc-{i % 2}", Ping(n=i))
        assert writer.flush(30)
        stats = writer.stats()
    assert stats.retries >= 1
    counts = ids_on_server(eventstore, ["Pc-0", "Pc-1"])
    assert len(counts) == 50
    assert set(counts.values()) == {1}


def test_oversize_event_is_dead_lettered_before_sending(eventstore: InMemoryEventStore) -> None:
    with EventWriter(eventstore.url) as writer:
        small = [writer.submit("Big-1", {"N": i}, event_type="Ping") for i in range(5)]
        big = writer.submit("Big-1", {"Blob": "x" * 1_100_000}, event_type="Blob")
        more = [writer.submit("Big-1", {"N": i}, event_type="Ping") for i in range(5, 10)]
        assert writer.flush(10)
    assert [e.type for e in eventstore.events("Big-1")] == ["Ping"] * 10
    assert type(big.exception()).__name__ == "EventTooLarge"
    assert all(r.exception() is None for r in small + more)
    assert writer.stats().dead_lettered == {"too_large": 1}


def test_server_rejected_event_is_isolated_from_its_batch() -> None:
    with InMemoryEventStore(max_append_size=50_000) as store, EventWriter(store.url) as writer:
        receipts = [
            writer.submit("Rej-1", {"Blob": "y" * 200}, event_type="Small") for _ in range(20)
        ]
        culprit = writer.submit("Rej-1", {"Blob": "z" * 60_000}, event_type="Big")
        receipts += [writer.submit("Rej-1", {"Blob": "y"}, event_type="Small") for _ in range(20)]
        assert writer.flush(10)
        stats = writer.stats()
    assert [e.type for e in store.events("Rej-1")] == ["Small"] * 40
    assert type(culprit.exception()).__name__ == "EventTooLarge"
    assert all(r.exception() is None for r in receipts)
    assert stats.dead_lettered == {"too_large": 1}


def hold_queue(store: InMemoryEventStore, **options: object) -> tuple[EventWriter, list[Receipt]]:
    """A writer whose first event hangs in flight and whose queue (10 events) is then full."""
    store.faults.hang("BatchAppend", seconds=60)
    writer = EventWriter(store.url, max_queue_events=10, linger=0, append_timeout=60, **options)  # type: ignore[arg-type]
    receipts = [writer.submit("Full-1", Ping(n=0))]
    wait_inflight(store)
    receipts += [writer.submit("Full-1", Ping(n=i)) for i in range(1, 10)]
    return writer, receipts


def release(store: InMemoryEventStore, writer: EventWriter) -> None:
    store.faults.clear()
    assert writer.flush(10)
    writer.close()


def test_block_policy_raises_queue_full_after_the_timeout(eventstore: InMemoryEventStore) -> None:
    writer, _ = hold_queue(eventstore, overflow="block", block_timeout=0.2)
    with pytest.raises(QueueFull, match=r"stayed full for 0\.2s"):
        writer.submit("Full-1", Ping(n=10))
    assert writer.stats().dropped == {"queue_full_raised": 1}
    release(eventstore, writer)
    assert numbers(eventstore, "Full-1") == list(range(10))


def test_block_policy_waits_for_room(eventstore: InMemoryEventStore) -> None:
    writer, _ = hold_queue(eventstore, overflow="block", block_timeout=30)
    unblocked = threading.Timer(0.2, eventstore.faults.clear)
    unblocked.start()
    writer.submit("Full-1", Ping(n=10))  # returns once the hang ends and the queue drains
    release(eventstore, writer)
    assert numbers(eventstore, "Full-1") == list(range(11))
    assert writer.stats().dropped == {}


def test_drop_newest_fails_the_new_event_and_counts_it(eventstore: InMemoryEventStore) -> None:
    writer, _ = hold_queue(eventstore, overflow="drop_newest")
    dropped = writer.submit("Full-1", Ping(n=10))
    assert isinstance(dropped.exception(timeout=0), QueueFull)
    assert writer.stats().dropped == {"queue_full": 1}
    release(eventstore, writer)
    assert numbers(eventstore, "Full-1") == list(range(10))


def test_drop_oldest_fails_the_oldest_queued_event(eventstore: InMemoryEventStore) -> None:
    writer, receipts = hold_queue(eventstore, overflow="drop_oldest")
    newest = writer.submit("Full-1", Ping(n=10))
    assert isinstance(receipts[1].exception(timeout=0), QueueFull)  # [0] is in flight
    assert not newest.done()
    assert writer.stats().dropped == {"queue_full": 1}
    release(eventstore, writer)
    assert numbers(eventstore, "Full-1") == [0, *range(2, 11)]


def test_spool_policy_spills_to_disk_and_keeps_order(
    eventstore: InMemoryEventStore, tmp_path: Path
) -> None:
    eventstore.faults.hang("BatchAppend", seconds=60)
    writer = EventWriter(
        eventstore.url,
        max_queue_events=10,
        linger=0,
        append_timeout=60,
        overflow="spool",
        spool_path=tmp_path,
    )
    writer.submit("Full-1", Ping(n=0))
    wait_inflight(eventstore)
    receipts = [writer.submit("Full-1", Ping(n=i)) for i in range(1, 50)]
    assert writer.stats().spooled >= 40
    release(eventstore, writer)
    assert numbers(eventstore, "Full-1") == list(range(50))
    assert all(r.exception() is None for r in receipts)
    assert writer.stats().dropped == {}


def test_give_up_deadline_dead_letters_the_batch(eventstore: InMemoryEventStore) -> None:
    eventstore.faults.fail("BatchAppend", "UNAVAILABLE", times=None)
    policy = RetryPolicy(initial_backoff=0.05, max_backoff=0.05, give_up_after=0.3)
    with EventWriter(eventstore.url, retry=policy) as writer:
        receipt = writer.submit("Gu-1", Ping(n=1))
        assert writer.flush(10)
    assert type(receipt.exception()).__name__ == "Unavailable"
    assert writer.stats().dead_lettered == {"gave_up": 1}


def test_an_append_hanging_past_its_deadline_is_abandoned_and_resent(
    eventstore: InMemoryEventStore,
) -> None:
    # append_timeout=0: no deadline at all, like a gRPC call that ignores its own (they can,
    # when a server vanishes); the watchdog must notice and start over on a new connection.
    held = eventstore.faults.hang("BatchAppend", seconds=60, times=1)
    with EventWriter(eventstore.url, append_timeout=0, stall_timeout=0.3) as writer:
        receipts = [writer.submit("Stall-1", Ping(n=i)) for i in range(5)]
        assert writer.flush(10)
        assert writer.stats().stalls == 1
        held.cancel()  # the abandoned call now reaches the server too: same ids, no duplicate
        eventstore.wait_for(lambda: eventstore.calls["BatchAppend"] >= 2)
    assert all(r.exception() is None for r in receipts)
    assert numbers(eventstore, "Stall-1") == [0, 1, 2, 3, 4]
