"""Lifecycle of the in-process server: start, stop, restart, ports, limits, seeding.

In-process only: these tests control the server itself.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest
from kurrentdbclient import KurrentDBClient, StreamState
from kurrentdbclient.exceptions import MaximumAppendSizeExceededError, ServiceUnavailableError

from plumberd_logging.testing import (
    NO_STREAM,
    Database,
    InMemoryEventStore,
    ProposedEvent,
)

from .eventstore_helpers import event, ids

pytestmark = pytest.mark.inprocess_only

NS = StreamState.NO_STREAM


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_url_port_and_context_manager() -> None:
    store = InMemoryEventStore()
    with pytest.raises(RuntimeError, match="start"):
        _ = store.url

    with store:
        running_inside = store.is_running
        assert store.url == f"esdb://127.0.0.1:{store.port}?tls=false"
        assert store.discover_url == f"esdb+discover://127.0.0.1:{store.port}?tls=false"
        assert store.start() is store  # idempotent

    assert running_inside
    assert not store.is_running
    assert _refuses_connections(store.port)
    store.stop()  # idempotent


def test_stop_refuses_connections_and_clients_see_unavailable(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(eventstore.url)
    client.append_to_stream(stream, current_version=NS, events=[event()])

    eventstore.stop()

    assert _refuses_connections(eventstore.port)
    with pytest.raises(ServiceUnavailableError):
        client.get_stream(stream)


def test_restart_serves_the_same_data_on_the_same_port(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(eventstore.url)
    first = event(n=1)
    client.append_to_stream(stream, current_version=NS, events=[first])
    port = eventstore.port

    eventstore.restart()

    assert eventstore.port == port
    second = event(n=2)
    client.append_to_stream(stream, current_version=0, events=second)  # the same client
    assert ids(client.get_stream(stream)) == [first.id, second.id]


def test_restart_forgets_recent_ids_like_a_real_node(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(eventstore.url)
    sent = event()
    client.append_to_stream(stream, current_version=StreamState.ANY, events=[sent])

    eventstore.restart()

    # With an explicit expected version the retry is still recognised ...
    client.append_to_stream(stream, current_version=NS, events=[sent])
    assert len(client.get_stream(stream)) == 1
    # ... with ANY it is written again, as on a restarted KurrentDB.
    client.append_to_stream(stream, current_version=StreamState.ANY, events=[sent])
    assert ids(client.get_stream(stream)) == [sent.id, sent.id]


def test_a_busy_port_is_an_error() -> None:
    with InMemoryEventStore() as first, pytest.raises(OSError, match=str(first.port)):
        InMemoryEventStore(port=first.port).start()


def test_max_append_size_is_configurable(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    with InMemoryEventStore(max_append_size=100) as store:
        client = client_for(store.url)
        with pytest.raises(MaximumAppendSizeExceededError, match="100"):
            client.append_to_stream(stream, current_version=NS, events=[event(data=b"x" * 100)])
        client.append_to_stream(stream, current_version=NS, events=[event(data=b"x" * 50)])
    with pytest.raises(ValueError, match="positive"):
        InMemoryEventStore(max_append_size=0)


def test_seeded_data_is_visible_to_clients_and_servers_can_share_a_database(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    database = Database()
    database.append(stream, [ProposedEvent("Seeded", b'{"N": 1}')], expected_version=NO_STREAM)

    with InMemoryEventStore(database=database) as one, InMemoryEventStore(database=database) as two:
        client_for(one.url).append_to_stream(stream, current_version=0, events=[event("Added")])
        got = client_for(two.url).get_stream(stream)

    assert [e.type for e in got] == ["Seeded", "Added"]


def test_reset_forgets_data_faults_and_counts(
    eventstore: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(eventstore.url)
    client.append_to_stream(stream, current_version=NS, events=[event()])
    eventstore.faults.fail("Read", times=None)

    eventstore.reset()

    assert eventstore.streams() == []
    assert list(eventstore.faults) == []
    assert eventstore.calls["BatchAppend"] == 0
    assert client.get_current_version(stream) is NS


def test_inspection_helpers(eventstore: InMemoryEventStore, stream: str) -> None:
    eventstore.append(stream, [ProposedEvent("A", b'{"a": 1}', metadata=b'{"m": "x"}')])

    [stored] = eventstore.wait_for_events(stream, 1)

    assert stored.json() == {"a": 1}
    assert stored.metadata_json() == {"m": "x"}
    assert eventstore.streams() == [stream]
    assert [e.id for e in eventstore.all_events()] == [stored.id]
    with pytest.raises(TimeoutError, match=f"{stream!r} has 1 event"):
        eventstore.wait_for_events(stream, 2, timeout=0.05)


@pytest.mark.skipif(
    (3, 12, 0) <= sys.version_info[:3] < (3, 12, 3),
    reason="this Python (3.12.0-3.12.2) cannot start threads at exit (CPython gh-113964): grpc's "
    "server and client cannot finish a held call during shutdown; fixed in 3.12.3",
)
def test_a_forgotten_server_with_a_held_call_does_not_block_interpreter_exit() -> None:
    script = textwrap.dedent(
        """
        import threading
        from kurrentdbclient import KurrentDBClient
        from plumberd_logging.testing import InMemoryEventStore

        store = InMemoryEventStore().start()
        store.faults.hang("Read")  # until cleared; the client has no deadline
        client = KurrentDBClient(store.url)
        threading.Thread(target=lambda: client.get_stream("s"), daemon=True).start()
        store.wait_for(lambda: store.calls["Read"] >= 1)
        print("held")
        """
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert (done.returncode, done.stdout.strip()) == (0, "held"), done.stderr
