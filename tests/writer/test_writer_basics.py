"""EventWriter: batching, order, receipts, flush/close, stats, parameter errors."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from helpers import Ping, ids_on_server, numbers

from plumberd_logging import NO_STREAM, Event, EventStoreClient, InvalidEvent, WriterClosed
from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter, RetryPolicy


def test_events_arrive_in_order_per_stream_in_few_batches(eventstore: InMemoryEventStore) -> None:
    with EventWriter(eventstore.url) as writer:
        receipts = [writer.submit(f"Ping-{i % 3}", Ping(n=i)) for i in range(3000)]
        assert writer.flush(10)
    for s in range(3):
        assert numbers(eventstore, f"Ping-{s}") == list(range(s, 3000, 3))
    assert all(r.done() and r.exception() is None for r in receipts)
    stats = writer.stats()
    assert stats.sent == stats.enqueued == 3000
    assert stats.batches < 30  # not one append per event
    assert stats.queue_events == 0


def test_event_id_is_kept_and_receipt_gives_the_position(eventstore: InMemoryEventStore) -> None:
    event = Ping(n=1)
    with EventWriter(eventstore.url) as writer:
        receipt = writer.submit("Ping-x", event)
        position = receipt.result(timeout=5)
    [stored] = eventstore.events("Ping-x")
    assert stored.id == event.id == receipt.event_id
    assert stored.commit_position == position
    assert json.loads(stored.data)["Id"] == str(event.id)


def test_dict_events_and_class_stream_rules(eventstore: InMemoryEventStore) -> None:
    class Opened(Event, category="Door", stream_id_field="door"):
        door: str

    with EventWriter(eventstore.url) as writer:
        writer.submit(None, Opened(door="front"))
        writer.submit("Door-back", {"Door": "back"}, event_type="Opened")
        assert writer.flush(5)
    assert [e.type for e in eventstore.events("Door-front")] == ["Opened"]
    assert json.loads(eventstore.events("Door-back")[0].data)["Door"] == "back"


def test_expected_position_is_checked(eventstore: InMemoryEventStore) -> None:
    with EventWriter(eventstore.url) as writer:
        first = writer.submit("Acct-1", Ping(n=1), expected_position=NO_STREAM)
        second = writer.submit("Acct-1", Ping(n=2), expected_position=0)
        clash = writer.submit("Acct-1", Ping(n=3), expected_position=0)
        assert writer.flush(5)
    assert first.exception() is None
    assert second.exception() is None
    assert type(clash.exception()).__name__ == "WrongExpectedVersion"
    assert numbers(eventstore, "Acct-1") == [1, 2]
    assert writer.stats().dead_lettered == {"wrong_expected_version": 1}


def test_invalid_event_is_dead_lettered_and_others_proceed(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    failed: list[tuple[object, BaseException]] = []
    with EventWriter(eventstore.url, on_failed=lambda r, e: failed.append((r, e))) as writer:
        good1 = writer.submit("Ping-1", Ping(n=1))
        bad = writer.submit("Ping-1", Ping(n=float("nan")))  # type: ignore[arg-type]
        good2 = writer.submit("Ping-1", Ping(n=3))
        assert writer.flush(5)
    assert numbers(eventstore, "Ping-1") == [1, 3]
    assert good1.exception() is None
    assert good2.exception() is None
    exc = bad.exception()
    assert isinstance(exc, InvalidEvent)
    assert "Ping.n" in str(exc)
    assert failed == [(bad, exc)]
    assert writer.stats().dead_lettered == {"invalid": 1}
    assert "event not written (invalid)" in capsys.readouterr().err


def test_flush_returns_false_while_the_server_hangs(eventstore: InMemoryEventStore) -> None:
    eventstore.faults.hang("AppendSession", seconds=30)
    eventstore.faults.hang("BatchAppend", seconds=30)
    writer = EventWriter(eventstore.url, append_timeout=30, close_timeout=0.2)
    try:
        receipt = writer.submit("Ping-1", Ping(n=1))
        assert not writer.flush(timeout=0.3)
        assert not receipt.done()
        with pytest.raises(TimeoutError):
            receipt.result(timeout=0.05)
    finally:
        eventstore.faults.clear()
        writer.close(5)


def test_closed_writer_refuses_events(eventstore: InMemoryEventStore) -> None:
    writer = EventWriter(eventstore.url)
    writer.submit("Ping-1", Ping(n=1))
    assert writer.close()
    assert writer.close()  # twice is fine
    with pytest.raises(WriterClosed):
        writer.submit("Ping-1", Ping(n=2))
    assert numbers(eventstore, "Ping-1") == [1]


def test_a_writer_that_never_wrote_closes_quickly() -> None:
    writer = EventWriter("esdb://127.0.0.1:1?tls=false")
    assert writer.close(timeout=1)


def test_shared_client_is_not_closed_by_the_writer(eventstore: InMemoryEventStore) -> None:
    with EventStoreClient(eventstore.url) as client:
        with EventWriter(client) as writer:
            writer.submit("Ping-1", Ping(n=1))
        assert client.stream_revision("Ping-1") == 0


def test_callbacks_see_each_delivered_event(eventstore: InMemoryEventStore) -> None:
    delivered: list[object] = []
    with EventWriter(eventstore.url, on_delivered=delivered.append) as writer:
        receipts = [writer.submit("Ping-1", Ping(n=i)) for i in range(10)]
        assert writer.flush(5)
    assert delivered == receipts


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_batch_events": 0}, "max_batch_events: expected a positive int"),
        ({"max_batch_bytes": 2_000_000}, "exceeds max_append_size"),
        ({"linger": -1}, "linger: expected a number of seconds"),
        ({"overflow": "explode"}, "overflow: expected one of"),
        ({"overflow": "spool"}, "needs spool_path"),
        ({"retry": 3}, "retry: expected a RetryPolicy"),
    ],
)
def test_bad_options_name_the_parameter(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        EventWriter("esdb://localhost:2113?tls=false", **kwargs)  # type: ignore[arg-type]


def test_bad_url_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(ValueError, match="scheme 'http'") as info:
        EventWriter("http://admin:s3cret@localhost:2113")
    assert "s3cret" not in str(info.value)


def test_bad_submit_arguments_name_the_parameter(eventstore: InMemoryEventStore) -> None:
    with EventWriter(eventstore.url) as writer:
        with pytest.raises(ValueError, match="no stream rule"):
            writer.submit(None, Ping(n=1))
        with pytest.raises(TypeError, match="expected_position"):
            writer.submit("Ping-1", Ping(n=1), expected_position="3")  # type: ignore[arg-type]
        with pytest.raises(InvalidEvent, match="expected a GUID"):
            writer.submit("Ping-1", Ping(n=1), metadata={"$causationId": "nope"})


def test_retry_policy_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2, jitter=0)
    assert [policy.backoff(i) for i in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    with pytest.raises(ValueError, match="max_backoff"):
        RetryPolicy(initial_backoff=2, max_backoff=1)


def test_many_streams_go_out_in_multi_stream_appends(eventstore: InMemoryEventStore) -> None:
    streams = [f"Cam-{uuid4()}" for _ in range(100)]
    with EventWriter(eventstore.url) as writer:
        for i in range(2000):
            writer.submit(streams[i % 100], Ping(n=i))
        assert writer.flush(10)
    assert sum(ids_on_server(eventstore, streams).values()) == 2000
    assert eventstore.calls["AppendSession"] <= 10
    assert numbers(eventstore, streams[7]) == list(range(7, 2000, 100))


def test_falls_back_to_per_stream_appends_without_multi_stream_support(
    eventstore: InMemoryEventStore,
) -> None:
    eventstore.faults.fail("AppendSession", "UNIMPLEMENTED", times=None)
    with EventWriter(eventstore.url) as writer:
        for i in range(40):
            writer.submit(f"Cam-{i % 4}", Ping(n=i))
        assert writer.flush(10)
    # detected on the first call (which kurrentdbclient itself tries twice), never asked again
    assert eventstore.calls["AppendSession"] == 2
    assert [numbers(eventstore, f"Cam-{s}") for s in range(4)] == [
        list(range(s, 40, 4)) for s in range(4)
    ]
