"""Fault injection of the in-process server, driven through the real kurrentdbclient.

Skipped against a real server: faults and call counts exist only in the in-process one. Timing
assertions use generous bounds; synchronisation waits on conditions, never on sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
import pytest
from kurrentdbclient import KurrentDBClient, NewEvents, StreamState
from kurrentdbclient.exceptions import (
    DiscoveryFailedError,
    GrpcDeadlineExceededError,
    InternalError,
    KurrentDBClientError,
    NotFoundError,
)

from plumberd_logging.testing import RPC_NAMES, InMemoryEventStore

from .eventstore_helpers import AppendFn, discover_url, event, ids

pytestmark = pytest.mark.inprocess_only

NS = StreamState.NO_STREAM


@pytest.fixture
def client(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient]
) -> KurrentDBClient:
    return client_for(eventstore.url)


def test_unavailable_after_commit_then_the_clients_retry_writes_the_event_once(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    fault = eventstore.faults.fail(append.rpc, grpc.StatusCode.UNAVAILABLE, after_commit=True)
    sent = event()

    position = append(client, stream, [sent], NS)

    assert fault.hits == 1
    assert eventstore.calls[append.rpc] == 2  # the failed attempt and the idempotent retry
    assert ids(client.get_stream(stream)) == [sent.id]
    assert position == eventstore.events(stream)[0].commit_position


def test_failing_before_the_commit_writes_nothing(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    eventstore.faults.fail(append.rpc, "INTERNAL", times=2)

    with pytest.raises(InternalError):  # kurrentdbclient retries once, then gives up
        append(client, stream, [event()], NS)

    assert eventstore.calls[append.rpc] == 2
    with pytest.raises(NotFoundError):
        client.get_stream(stream)
    append(client, stream, [event()], NS)  # the fault is used up
    assert len(eventstore.events(stream)) == 1


def test_multi_append_retried_after_a_failure_after_commit_is_idempotent(
    eventstore: InMemoryEventStore, client: KurrentDBClient, prefix: str
) -> None:
    eventstore.faults.fail("AppendSession", "UNAVAILABLE", after_commit=True)
    batch = [NewEvents(f"{prefix}-a", [event(n=1)], NS), NewEvents(f"{prefix}-b", [event()], NS)]

    client.multi_append_to_stream(batch)

    assert eventstore.calls["AppendSession"] == 2
    assert [len(eventstore.events(f"{prefix}-{s}")) for s in "ab"] == [1, 1]


def test_delay_slows_calls_down_and_trips_client_deadlines(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str
) -> None:
    client.append_to_stream(stream, current_version=NS, events=[event()])
    eventstore.faults.delay("Read", 0.3, times=1)

    started = time.monotonic()
    assert len(client.get_stream(stream)) == 1
    assert time.monotonic() - started >= 0.3

    eventstore.faults.delay("Read", 1.0)
    with pytest.raises(GrpcDeadlineExceededError):
        client.get_stream(stream, timeout=0.2)


def test_hang_after_commit_client_times_out_and_its_retry_is_idempotent(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    hang = eventstore.faults.hang(append.rpc, times=1, after_commit=True)
    sent = event()

    append_timeout = 0.3
    started = time.monotonic()
    if append.rpc == "Append":
        client.append_to_stream(stream, current_version=NS, events=sent, timeout=append_timeout)
    else:
        client.append_to_stream(stream, current_version=NS, events=[sent], timeout=append_timeout)

    assert time.monotonic() - started >= append_timeout  # the first attempt got no answer
    assert hang.hits == 1
    assert eventstore.calls[append.rpc] == 2
    assert ids(client.get_stream(stream)) == [sent.id]


def test_hang_window_refuses_answers_until_it_ends(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str
) -> None:
    hang = eventstore.faults.hang("BatchAppend", seconds=1.0)  # > both attempts of 0.2 s

    with pytest.raises(GrpcDeadlineExceededError):
        client.append_to_stream(stream, current_version=NS, events=[event()], timeout=0.2)
    assert eventstore.events(stream) == []  # held before the commit: nothing written

    eventstore.wait_for(lambda: not hang.active, timeout=5)
    client.append_to_stream(stream, current_version=NS, events=[event()], timeout=2)
    assert len(eventstore.events(stream)) == 1


def test_clearing_a_hang_lets_held_calls_continue(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str
) -> None:
    client.append_to_stream(stream, current_version=NS, events=[event()])
    eventstore.faults.hang("Read")
    result: list[int] = []
    reader = threading.Thread(target=lambda: result.append(len(client.get_stream(stream))))
    reader.start()
    eventstore.wait_for(lambda: eventstore.calls["Read"] >= 1)

    eventstore.faults.clear()

    reader.join(timeout=5)
    assert result == [1]


def test_stop_does_not_wait_for_hung_calls(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str
) -> None:
    eventstore.faults.hang("Append")  # until cleared: the client has no deadline
    errors: list[Exception] = []

    def append_forever() -> None:
        try:
            client.append_to_stream(stream, current_version=NS, events=event())
        except KurrentDBClientError as e:
            errors.append(e)

    writer = threading.Thread(target=append_forever)
    writer.start()
    eventstore.wait_for(lambda: eventstore.calls["Append"] >= 1)

    started = time.monotonic()
    eventstore.stop()
    assert time.monotonic() - started < 2.0

    writer.join(timeout=10)
    assert not writer.is_alive()
    assert errors  # the client saw the server go away
    assert eventstore.events(stream) == []


def test_gossip_failure_makes_discovery_fail(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient]
) -> None:
    eventstore.faults.fail("Gossip", "UNAVAILABLE", times=None)

    with pytest.raises(DiscoveryFailedError):
        client_for(discover_url(eventstore.url) + "&MaxDiscoverAttempts=2&DiscoveryInterval=10")

    assert eventstore.calls["Gossip"] == 2


def test_call_counters_and_fault_registry(eventstore: InMemoryEventStore) -> None:
    assert dict(eventstore.calls) == dict.fromkeys(RPC_NAMES, 0)
    with pytest.raises(KeyError):
        eventstore.calls["Appendd"]
    with pytest.raises(ValueError, match="unknown RPC"):
        eventstore.faults.fail("Appendd")
    with pytest.raises(ValueError, match="status code"):
        eventstore.faults.fail("Append", "OK")

    fault = eventstore.faults.delay("Read", 0.1, times=3)
    assert list(eventstore.faults) == [fault]
    active_before = fault.active
    fault.cancel()
    assert (active_before, fault.active) == (True, False)
    eventstore.faults.clear()
    assert list(eventstore.faults) == []


def test_faults_apply_only_to_their_rpc(
    eventstore: InMemoryEventStore, client: KurrentDBClient, stream: str
) -> None:
    eventstore.faults.fail("Append", "UNAVAILABLE", times=None)

    client.append_to_stream(stream, current_version=NS, events=[event()])  # BatchAppend

    assert ids(client.get_stream(stream)) == ids(eventstore.events(stream))
    assert eventstore.calls["Append"] == 0
