"""Several streams in one BatchAppend call (servers without multi-stream appends, and
``multi_stream="never"``): each append stays atomic on its own, a refused one is isolated, a
call that fails is retried with the same ids, and nothing is written twice."""

from __future__ import annotations

from uuid import uuid4

import pytest
from helpers import Ping, ids_on_server, numbers

from plumberd_logging import ANY, NO_STREAM, EventStoreClient, StreamDeleted, encode
from plumberd_logging.errors import WrongExpectedVersion
from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter, RetryPolicy

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


def test_streams_share_batch_append_calls_and_keep_their_order(
    eventstore: InMemoryEventStore,
) -> None:
    streams = [f"Cam-{uuid4()}" for _ in range(100)]
    with EventWriter(eventstore.url, multi_stream="never", linger=30) as writer:
        for i in range(2000):
            writer.submit(streams[i % 100], Ping(n=i))
        assert writer.flush(10)
    assert sum(ids_on_server(eventstore, streams).values()) == 2000
    assert numbers(eventstore, streams[7]) == list(range(7, 2000, 100))
    # before: one call per stream and round (100 or more); now a call carries many streams
    assert eventstore.calls["BatchAppend"] <= 10
    assert eventstore.calls["AppendSession"] == 0


def test_the_client_answers_each_append_in_order_with_its_position_or_error(
    eventstore: InMemoryEventStore,
) -> None:
    gone, fresh, taken = (f"Each-{uuid4()}" for _ in range(3))
    with EventStoreClient(eventstore.url) as client:
        client.append_encoded(gone, [encode(Ping(n=0))])
        client.append_encoded(taken, [encode(Ping(n=0))])
        eventstore.database.tombstone(gone)
        results = client.append_encoded_each(
            [
                (fresh, NO_STREAM, [encode(Ping(n=1)), encode(Ping(n=2))]),
                (gone, ANY, [encode(Ping(n=3))]),
                (taken, NO_STREAM, [encode(Ping(n=4))]),
            ],
            timeout=5,
        )
    position, deleted, conflict = results
    assert isinstance(position, int)
    assert eventstore.events(fresh)[-1].commit_position == position
    assert isinstance(deleted, StreamDeleted) and gone in str(deleted)
    assert isinstance(conflict, WrongExpectedVersion) and taken in str(conflict)
    assert numbers(eventstore, fresh) == [1, 2]
    assert numbers(eventstore, taken) == [0]


def test_a_refused_stream_is_dead_lettered_and_the_others_are_written(
    eventstore: InMemoryEventStore,
) -> None:
    gone = f"Gone-{uuid4()}"
    with EventStoreClient(eventstore.url) as client:
        client.append_encoded(gone, [encode(Ping(n=-1))])
    eventstore.database.tombstone(gone)
    streams = [f"Ok-{uuid4()}" for _ in range(5)]
    with EventWriter(eventstore.url, multi_stream="never", linger=30) as writer:
        receipts = [writer.submit(streams[i % 5], Ping(n=i)) for i in range(50)]
        refused = [writer.submit(gone, Ping(n=i)) for i in range(3)]
        assert writer.flush(10)
    assert all(r.exception(0) is None for r in receipts)
    assert all(isinstance(r.exception(0), StreamDeleted) for r in refused)
    assert writer.stats().dead_lettered == {"stream_deleted": 3}
    assert [numbers(eventstore, s) for s in streams] == [list(range(s, 50, 5)) for s in range(5)]


@pytest.mark.parametrize("after_commit", [False, True], ids=["before", "after-commit"])
def test_a_failed_call_is_retried_with_the_same_ids_and_nothing_is_written_twice(
    eventstore: InMemoryEventStore, after_commit: bool
) -> None:
    streams = [f"Retry-{uuid4()}" for _ in range(10)]
    # more failures than kurrentdbclient retries on its own: the writer retries too
    fault = eventstore.faults.fail("BatchAppend", "UNAVAILABLE", times=6, after_commit=after_commit)
    with EventWriter(eventstore.url, multi_stream="never", linger=30, retry=FAST) as writer:
        receipts = [writer.submit(streams[i % 10], Ping(n=i)) for i in range(200)]
        assert writer.flush(10)
    assert fault.hits == 6
    assert writer.stats().retries >= 1
    stored = ids_on_server(eventstore, streams)
    assert set(stored) == {r.event_id for r in receipts}
    assert set(stored.values()) == {1}  # each event once
    assert [numbers(eventstore, s) for s in streams] == [list(range(s, 200, 10)) for s in range(10)]
