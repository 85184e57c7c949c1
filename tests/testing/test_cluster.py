"""A three-node in-process cluster, driven through the real kurrentdbclient.

Followers answer what needs the leader as KurrentDB does (the v1 API with NOT_FOUND "Leader info
available" and the leader's endpoint in trailers, the v2 API with ``NotLeaderNodeErrorDetails``),
so kurrentdbclient raises ``NodeIsNotLeaderError(host, port)``; in discovery mode (``+discover``
or several hosts) it reconnects to that leader and retries by itself.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, NewEvents, StreamState
from kurrentdbclient.exceptions import (
    KurrentDBClientError,
    LeaderNotFoundError,
    NodeIsNotLeaderError,
    ServiceUnavailableError,
)

from plumberd_logging.testing import InMemoryCluster

from .eventstore_helpers import event, ids

pytestmark = pytest.mark.inprocess_only

NS = StreamState.NO_STREAM
ANY = StreamState.ANY


@pytest.fixture
def cluster() -> Iterator[InMemoryCluster]:
    with InMemoryCluster(3) as started:
        yield started


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_gossip_lists_every_node_with_its_grpc_endpoint_and_role(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient]
) -> None:
    expected = [
        ("NODE_STATE_LEADER", "127.0.0.1", cluster.nodes[0].port),
        ("NODE_STATE_FOLLOWER", "127.0.0.1", cluster.nodes[1].port),
        ("NODE_STATE_FOLLOWER", "127.0.0.1", cluster.nodes[2].port),
    ]

    for node in cluster.nodes:  # every node tells the same story
        members = client_for(node.url).read_gossip()
        assert [(m.state, m.address, m.port) for m in members] == expected
    assert cluster.leader is cluster.nodes[0]
    assert cluster.followers == [cluster.nodes[1], cluster.nodes[2]]
    assert [n.state for n in cluster.nodes] == ["Leader", "Follower", "Follower"]
    assert (
        cluster.url
        == "esdb://" + ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes) + "?tls=false"
    )


_FOLLOWER_CALLS: dict[str, Callable[[KurrentDBClient, str], object]] = {
    "Append": lambda c, s: c.append_to_stream(s, current_version=ANY, events=event()),
    "BatchAppend": lambda c, s: c.append_to_stream(s, current_version=ANY, events=[event()]),
    "Read": lambda c, s: c.get_stream(s),
    "ReadAll": lambda c, s: c.get_commit_position(),
    "Delete": lambda c, s: c.delete_stream(s, current_version=ANY),
    "Tombstone": lambda c, s: c.tombstone_stream(s, current_version=ANY),
    "SetMetadata": lambda c, s: c.set_stream_metadata(s, metadata={"$maxCount": 1}),
    "AppendSession": lambda c, s: c.multi_append_to_stream([NewEvents(s, [event()], ANY)]),
}


@pytest.mark.parametrize("call", list(_FOLLOWER_CALLS))
def test_a_follower_refuses_with_the_leaders_endpoint(
    cluster: InMemoryCluster,
    client_for: Callable[[str], KurrentDBClient],
    stream: str,
    call: str,
) -> None:
    cluster.append(stream, [])
    follower = client_for(cluster.nodes[2].url)  # a direct connection: no redirects

    with pytest.raises(NodeIsNotLeaderError) as raised:
        _FOLLOWER_CALLS[call](follower, stream)

    error = raised.value
    assert (error.host, error.port) == ("127.0.0.1", cluster.nodes[0].port)
    if call == "AppendSession":  # the v2 API: FAILED_PRECONDITION with NotLeaderNodeErrorDetails
        assert error.node_id == str(cluster._state.instance_id(0))
        assert f"leader node directly at 127.0.0.1:{cluster.nodes[0].port}" in str(error)
    else:  # the v1 API: NOT_FOUND "Leader info available", the endpoint in trailers
        assert str(error) == "Leader info available"
    assert cluster.events(stream) == []


def test_a_follower_serves_reads_that_do_not_require_the_leader(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    sent = event()
    client_for(cluster.url).append_to_stream(stream, current_version=NS, events=[sent])
    reader = client_for(cluster.url + "&NodePreference=follower")

    assert reader.connection_target in {f"127.0.0.1:{n.port}" for n in cluster.followers}
    assert ids(reader.get_stream(stream)) == [sent.id]
    with reader.subscribe_to_stream(stream, timeout=10) as subscription:
        assert next(subscription).id == sent.id
    with pytest.raises(NodeIsNotLeaderError):  # writes need the leader; no redirect then
        reader.append_to_stream(stream, current_version=0, events=[event()])


@pytest.mark.parametrize("url", ["hosts", "discover", "discover-via-follower"])
def test_discovery_connects_to_the_leader(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str, url: str
) -> None:
    target = {
        "hosts": cluster.url,
        "discover": cluster.discover_url,
        "discover-via-follower": cluster.nodes[2].discover_url,
    }[url]

    client = client_for(target)
    client.append_to_stream(stream, current_version=NS, events=[event()])

    assert client.connection_target == f"127.0.0.1:{cluster.nodes[0].port}"
    assert cluster.nodes[0].calls["BatchAppend"] == 1
    assert cluster.calls("BatchAppend") == 1


@pytest.mark.parametrize("url", ["hosts", "discover"])
def test_after_an_election_a_discovering_client_follows_the_new_leader(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str, url: str
) -> None:
    client = client_for(cluster.url if url == "hosts" else cluster.discover_url)
    client.append_to_stream(stream, current_version=NS, events=[event(n=0)])

    cluster.elect(1)
    client.append_to_stream(stream, current_version=0, events=[event(n=1)])
    client.append_to_stream(stream, current_version=1, events=event(n=2))

    assert client.connection_target == f"127.0.0.1:{cluster.nodes[1].port}"
    assert len(cluster.events(stream)) == 3
    assert cluster.nodes[0].calls["BatchAppend"] == 2  # the refused attempt, then the retry
    assert cluster.nodes[1].calls["BatchAppend"] == 1
    assert [n.state for n in cluster.nodes] == ["Follower", "Leader", "Follower"]


def test_after_an_election_the_old_leader_points_to_the_new_one(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    direct = client_for(cluster.nodes[0].url)
    direct.append_to_stream(stream, current_version=NS, events=[event()])

    cluster.elect(2)

    with pytest.raises(NodeIsNotLeaderError) as raised:
        direct.append_to_stream(stream, current_version=0, events=[event()])
    assert raised.value.port == cluster.nodes[2].port
    client_for(cluster.nodes[2].url).append_to_stream(stream, current_version=0, events=[event()])


def test_a_stopped_leader_refuses_connections_and_the_next_node_takes_over(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(cluster.url)
    client.append_to_stream(stream, current_version=NS, events=[event()])
    port = cluster.nodes[0].port

    cluster.stop_node(0)

    assert _refuses_connections(port)
    assert cluster.leader_index == 1
    client.append_to_stream(stream, current_version=0, events=[event()])  # rediscovers
    assert client.connection_target == f"127.0.0.1:{cluster.nodes[1].port}"
    members = client.read_gossip()
    states = ["NODE_STATE_OTHER", "NODE_STATE_LEADER", "NODE_STATE_FOLLOWER"]  # OTHER: Shutdown
    assert [m.state for m in members] == states
    assert cluster.nodes[0].state == "Shutdown"

    cluster.start_node(0)  # rejoins as a follower, on the same port
    assert (cluster.nodes[0].port, cluster.nodes[0].state) == (port, "Follower")
    assert len(cluster.events(stream)) == 2


def test_without_a_leader_nodes_are_not_ready_until_an_election(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    cluster.stop_node(0, elect=False)
    direct = client_for(cluster.nodes[1].url)

    with pytest.raises(ServiceUnavailableError, match="Server Is Not Ready"):
        direct.append_to_stream(stream, current_version=NS, events=[event()])
    with pytest.raises(LeaderNotFoundError):
        KurrentDBClient(cluster.url + "&MaxDiscoverAttempts=2&DiscoveryInterval=10")
    with pytest.raises(KurrentDBClientError, match="not yet ready"):  # v2: a kurrent.rpc error
        direct.multi_append_to_stream([NewEvents(stream, [event()], NS)])

    cluster.elect(1)
    client_for(cluster.url).append_to_stream(stream, current_version=NS, events=[event()])
    assert len(cluster.events(stream)) == 1


def test_a_subscription_on_a_follower_needing_history_is_sent_to_the_leader(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    """Like KurrentDB: confirmed first, then the first catch-up read answers "not leader"."""
    client_for(cluster.url).append_to_stream(stream, current_version=NS, events=[event()])
    follower = client_for(cluster.nodes[1].url)

    subscription = follower.subscribe_to_stream(stream, timeout=10)

    with pytest.raises(NodeIsNotLeaderError) as raised:
        next(subscription)
    assert raised.value.port == cluster.nodes[0].port


def test_faults_and_call_counts_are_per_node(
    cluster: InMemoryCluster, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    cluster.nodes[0].faults.fail("BatchAppend", "UNAVAILABLE", after_commit=True)
    client = client_for(cluster.url)

    client.append_to_stream(stream, current_version=NS, events=[event()])

    assert len(cluster.events(stream)) == 1  # the retry after the lost answer was idempotent
    assert [n.calls["BatchAppend"] for n in cluster.nodes] == [2, 0, 0]
    assert cluster.calls("Gossip") >= 2  # first discovery, then rediscovery after UNAVAILABLE
    cluster.reset()
    assert cluster.calls("Gossip") == 0
    assert cluster.events(stream) == []


def test_a_secure_cluster_redirects_with_credentials(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    users = {"admin": "changeit", "reader": "pw"}
    with InMemoryCluster(3, tls=True, users=users, writers={"admin"}) as secure:
        assert secure.url.startswith("esdb://admin:changeit@127.0.0.1:")
        assert secure.url.endswith(f"?tls=true&tlsCAFile={secure.ca_file}")
        client = client_for(secure.discover_url)
        client.append_to_stream(stream, current_version=NS, events=[event()])
        secure.elect(2)
        client.append_to_stream(stream, current_version=0, events=[event()])
        reader = client_for(secure.url_for("reader"))

        assert len(reader.get_stream(stream)) == 2
        assert client.connection_target == f"127.0.0.1:{secure.nodes[2].port}"


def test_cluster_configuration_errors(cluster: InMemoryCluster) -> None:
    with pytest.raises(ValueError, match="one port per node"):
        InMemoryCluster(3, ports=[1, 2])
    with pytest.raises(ValueError, match="leader"):
        InMemoryCluster(3, leader=3)
    with pytest.raises(IndexError):
        cluster.elect(5)
    cluster.stop_node(2)
    with pytest.raises(ValueError, match="not running"):
        cluster.elect(2)
    cluster.stop_node(0, elect=False)
    with pytest.raises(RuntimeError, match="no node leads"):
        _ = cluster.leader
    assert "Shutdown" in repr(cluster)


def _append_with_retries(
    client: KurrentDBClient, stream: str, events: list[NewEvent], errors: list[str]
) -> None:
    """Retry with the same events (same ids) until the append succeeds, as a writer would."""
    for _ in range(100):
        try:
            client.append_to_stream(stream, current_version=ANY, events=events, timeout=5)
        except (NodeIsNotLeaderError, ServiceUnavailableError) as e:
            errors.append(type(e).__name__)
            time.sleep(0.01)
        else:
            return
    msg = f"append to {stream} never succeeded"
    raise AssertionError(msg)


@pytest.mark.parametrize(
    ("url", "change"),
    [("hosts", "elect"), ("discover", "elect"), ("hosts", "stop-leader")],
)
def test_appends_across_leader_changes_write_every_event_exactly_once(
    client_for: Callable[[str], KurrentDBClient], prefix: str, url: str, change: str
) -> None:
    """A writer under load, retrying with the same ids, while the leadership moves three times.

    Each change waits until the leader of the moment has taken a few appends (paced by the
    store, not by the clock: kurrentdbclient sleeps 0.1 s before retrying on a new leader, so a
    leader that moves faster than the writer follows would keep it one step behind for ever).
    """
    with InMemoryCluster(3) as cluster:
        client = client_for(cluster.url if url == "hosts" else cluster.discover_url)
        sent: list[UUID] = []
        errors: list[str] = []
        failed: list[BaseException] = []
        stop = threading.Event()

        def write() -> None:
            batch = 0
            try:
                while not stop.is_set() or batch < 100:
                    events = [event(n=n) for n in range(10)]
                    _append_with_retries(client, f"{prefix}-{batch % 7}", events, errors)
                    sent.extend(ids(events))
                    batch += 1
            except BaseException as e:  # reported by the test below
                failed.append(e)

        def leader_takes_appends() -> int:
            leader = cluster.leader_index or 0
            node = cluster.nodes[leader]
            target = node.calls["BatchAppend"] + 3
            deadline = time.monotonic() + 30
            while node.calls["BatchAppend"] < target and not failed:
                assert time.monotonic() < deadline, f"node {leader} got no appends as leader"
                time.sleep(0.005)
            return leader

        writer = threading.Thread(target=write)
        writer.start()
        for _ in range(3):
            leader = leader_takes_appends()
            if change == "elect":
                cluster.elect((leader + 1) % 3)
            else:  # the leader steps down and goes away, a stopped node comes back
                cluster.stop_node(leader, grace=0.5)  # no grace: see InMemoryCluster.stop_node
                cluster.start_node((leader + 2) % 3)
        leader_takes_appends()
        stop.set()
        writer.join(30)
        stored = [e.id for e in cluster.all_events()]
        served = [n.calls["BatchAppend"] for n in cluster.nodes]

    assert not writer.is_alive()
    assert failed == []
    assert len(sent) >= 1000
    assert len([n for n in served if n]) >= 3, served  # the writes went to every node in turn
    assert sorted(stored) == sorted(sent)  # every event, none twice
    assert len(set(stored)) == len(stored)
