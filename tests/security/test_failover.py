"""The writer rides through leader changes on a 3-node cluster: every event exactly once.

A producer submits thousands of events to several streams while the leadership moves: by an
election (the old leader answers "not leader"), or because the leader node stops, gracefully
(calls in flight finish, then "not leader") or not (calls cancelled; with grpcio 1.85 a
BatchAppend in flight may then hang past its deadline, which the writer's stall watchdog
abandons). The client follows the leader (a host list, or ``esdb+discover://``); the writer
retries with the same event ids. Afterwards every submitted event is stored once, counted by id.

The changes are paced by the store itself (the next one once N more events are stored), never
by sleeping.
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from plumberd_logging import Event, EventWriter, Receipt
from plumberd_logging.testing import InMemoryCluster

pytestmark = pytest.mark.inprocess_only

EVENTS = 6000
STREAMS = 8
CHANGES = 4


class Reading(Event):
    n: int
    sensor: str


def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    """Poll ``predicate`` (a writer's counters have no change notification) until true."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        pause.wait(0.01)


def _stored_at_least(cluster: InMemoryCluster, n: int) -> None:
    cluster.wait_for(lambda: len(cluster.all_events()) >= n, timeout=60)


def _stored_more(cluster: InMemoryCluster, n: int) -> None:
    """Wait until ``n`` more events are stored (the writer is writing through the leader)."""
    target = len(cluster.all_events()) + n
    cluster.wait_for(lambda: len(cluster.all_events()) >= target, timeout=60)


def _change(
    cluster: InMemoryCluster,
    how: str,
    discover: bool,
    counts: collections.Counter[str],
    writer: EventWriter,
) -> Callable[[], object] | None:
    """Move the leadership once; returns what restarts a stopped node, if one was stopped."""
    leader = cluster.leader_index
    assert leader is not None
    if how == "no-leader-for-a-while":  # an election that takes time: the writer must retry
        retries = writer.stats().retries
        cluster.stop_node(leader, elect=False)
        _wait_until(lambda: writer.stats().retries > retries, timeout=30)
        cluster.elect((leader + 1) % len(cluster))
        counts["leader_stops"] += 1
        counts["elections"] += 1
        return functools.partial(cluster.start_node, leader)
    if how == "elect":
        cluster.elect((leader + 1) % len(cluster))
        counts["elections"] += 1
        return None
    if discover and leader == 0:  # node 0 is the URL's only gossip seed: keep it running
        cluster.elect(1)  # and let the writer follow before its new leader goes away
        counts["elections"] += 1
        leader = 1
        _stored_more(cluster, 200)
    cluster.stop_node(leader, grace=0.5 if how == "stop-graceful" else None)
    counts["leader_stops"] += 1
    return functools.partial(cluster.start_node, leader)


@pytest.mark.parametrize(
    ("url", "how"),
    [
        ("hosts", "elect"),
        ("discover", "elect"),
        ("hosts", "stop-graceful"),
        ("discover", "stop-graceful"),
        pytest.param("hosts", "stop-ungraceful", marks=pytest.mark.slow),
        ("hosts", "no-leader-for-a-while"),
    ],
)
def test_a_writer_load_through_leader_changes_stores_every_event_once(
    url: str, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"Sensor{uuid4().hex[:6]}"
    streams = [f"{prefix}-{i}" for i in range(STREAMS)]
    counts: collections.Counter[str] = collections.Counter()
    receipts: list[Receipt] = []
    start = time.monotonic()
    with InMemoryCluster(3) as cluster:
        target = cluster.discover_url if url == "discover" else cluster.url
        writer = EventWriter(
            target, linger=0.005, max_batch_events=100, append_timeout=2, stall_timeout=4
        )
        done = threading.Event()

        def produce() -> None:
            for n in range(EVENTS):
                receipts.append(writer.submit(streams[n % STREAMS], Reading(n=n, sensor="t")))
                if n % 30 == 29:  # a steady load (~3,000 events/s), not one early burst
                    time.sleep(0.01)
            done.set()

        producer = threading.Thread(target=produce)
        producer.start()
        try:
            step = EVENTS // (CHANGES + 1)
            for i in range(1, CHANGES + 1):
                _stored_at_least(cluster, i * step)
                undo = _change(cluster, how, url == "discover", counts, writer)
                if undo is not None:  # back as a follower once the writer moved on
                    _stored_more(cluster, step // 2)
                    undo()
            producer.join(60)
            assert done.is_set()
            assert writer.flush(60)
            stats = writer.stats()
        finally:
            writer.close(5)
        stored = collections.Counter[UUID]()
        for stream in streams:
            stored.update(e.id for e in cluster.events(stream))
        served = [node.calls["BatchAppend"] + node.calls["AppendSession"] for node in cluster.nodes]
    elapsed = time.monotonic() - start

    sent = [r.event_id for r in receipts]
    assert all(r.exception(0) is None for r in receipts)
    assert len(sent) == len(set(sent)) == EVENTS
    assert set(stored) == set(sent)  # none lost
    assert max(stored.values()) == 1  # none twice
    assert stats.sent == EVENTS and stats.dead_lettered == {}
    assert len([n for n in served if n]) >= 2, served  # the writes moved between nodes
    with capsys.disabled():  # the figures for the record (pytest -s -k failover)
        print(
            f"\nfailover {url}/{how}: {EVENTS} events in {STREAMS} streams, "
            f"{counts['elections']} elections, {counts['leader_stops']} leader stops, "
            f"{stats.retries} retries, {stats.stalls} stalls, {stats.batches} append calls, "
            f"calls per node {served}, {elapsed:.1f} s; stored once each: {len(stored)}"
        )
