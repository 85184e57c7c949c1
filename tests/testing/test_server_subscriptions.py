"""Catch-up subscriptions against the in-process server: how they end, and what they cost.

A subscription holds one of the server's worker threads while it lasts; it must let go as soon as
the client goes away, and never hold up :meth:`InMemoryEventStore.stop`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import pytest
from kurrentdbclient import CaughtUp, KurrentDBClient, RecordedEvent, StreamState
from kurrentdbclient.exceptions import (
    KurrentDBClientError,
    ServiceUnavailableError,
    UnknownError,
)

from plumberd_logging.testing import InMemoryEventStore

from .eventstore_helpers import event, ids

pytestmark = pytest.mark.inprocess_only

NS = StreamState.NO_STREAM


class _Consumer:
    """Iterates a subscription in a thread; records what arrives and how it ends."""

    def __init__(self, subscription: Iterable[RecordedEvent]) -> None:
        self.items: list[RecordedEvent] = []
        self.error: BaseException | None = None
        self._subscription = subscription
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._subscription:
                self.items.append(item)
        except BaseException as e:  # recorded for the test
            self.error = e

    def join(self, timeout: float = 5.0) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def test_stopping_the_server_ends_subscriptions_at_once(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    store = InMemoryEventStore().start()
    client = client_for(store.url)
    consumers = [
        _Consumer(client.subscribe_to_stream(stream, include_caught_up=True)),
        _Consumer(client.subscribe_to_all(include_caught_up=True)),
    ]
    store.wait_for(lambda: all(c.items for c in consumers))  # both caught up: live

    started = time.monotonic()
    store.stop()
    took = time.monotonic() - started

    assert took < 1.0
    assert all(c.join() for c in consumers)
    assert all(isinstance(c.error, ServiceUnavailableError) for c in consumers), [
        c.error for c in consumers
    ]


def test_a_closed_client_frees_the_servers_worker_thread(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    with InMemoryEventStore(max_workers=1) as store:  # one call at a time
        for n in range(3):
            subscriber = KurrentDBClient(store.url)
            consumer = _Consumer(subscriber.subscribe_to_stream(stream))
            subscriber.close()
            assert consumer.join(), f"subscription {n} did not end"

        reader = client_for(store.url)
        assert reader.get_current_version(stream, timeout=5) is NS


def test_a_stopped_subscription_frees_the_servers_worker_thread(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    with InMemoryEventStore(max_workers=1) as store:
        client = client_for(store.url)
        for _ in range(3):
            subscription = client.subscribe_to_stream(stream, include_caught_up=True)
            assert isinstance(next(subscription), CaughtUp)
            subscription.stop()

        client.append_to_stream(stream, current_version=NS, events=[event()], timeout=5)


def test_live_events_arrive_from_other_writers_and_seeding(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(eventstore.url)
    consumer = _Consumer(client.subscribe_to_stream(stream))
    sent = [event(n=1), event(n=2)]

    client_for(eventstore.url).append_to_stream(stream, current_version=NS, events=sent[:1])
    eventstore.append(stream, [])  # an empty write changes nothing
    client.append_to_stream(stream, current_version=0, events=sent[1:])

    eventstore.wait_for(lambda: len(consumer.items) == 2)
    assert ids(consumer.items) == ids(sent)
    client.close()
    assert consumer.join()


def test_a_fault_after_the_confirmation_drops_the_subscription(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    eventstore.faults.fail("Read", "UNKNOWN", after_commit=True, details="dropped")
    client = client_for(eventstore.url)

    subscription = client.subscribe_to_stream(stream)  # confirmed before the fault acts

    with pytest.raises(UnknownError, match="dropped"):
        next(subscription)
    assert eventstore.calls["Read"] == 1


def test_a_fault_on_arrival_refuses_the_subscription(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    eventstore.faults.fail("Read", "UNKNOWN", times=2, details="refused")

    with pytest.raises(KurrentDBClientError, match="refused"):
        client_for(eventstore.url).subscribe_to_stream(stream)


def test_a_subscription_keeps_up_with_a_burst_of_writes(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], prefix: str
) -> None:
    client = client_for(eventstore.url)
    consumer = _Consumer(
        client.subscribe_to_all(
            filter_include=[prefix], filter_by_stream_name=True, filter_by_prefix=True
        )
    )
    sent = [event(n=n) for n in range(1200)]

    for start in range(0, len(sent), 100):
        client.append_to_stream(
            f"{prefix}-{start % 300}", current_version=StreamState.ANY, events=sent[start:][:100]
        )

    eventstore.wait_for(lambda: len(consumer.items) >= len(sent), timeout=10)
    assert ids(consumer.items) == ids(sent)
    positions = [e.commit_position for e in consumer.items]
    assert positions == sorted(positions)
    client.close()
    assert consumer.join()


def test_a_graceful_stop_does_not_wait_for_subscriptions(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    store = InMemoryEventStore().start()
    consumer = _Consumer(client_for(store.url).subscribe_to_stream(stream, include_caught_up=True))
    store.wait_for(lambda: consumer.items)

    started = time.monotonic()
    store.stop(grace=5)

    assert time.monotonic() - started < 1.0
    assert consumer.join()
    assert isinstance(consumer.error, ServiceUnavailableError)
