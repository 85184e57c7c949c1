"""Unit tests of :class:`plumberd_logging.testing.Database`, the data behind the server."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from plumberd_logging.testing import (
    ANY,
    DELETED_STREAM,
    NO_STREAM,
    STREAM_EXISTS,
    Database,
    EventFilter,
    ProposedEvent,
    StreamDeleted,
    StreamNotFound,
    WrongExpectedVersion,
)


def _events(*types: str) -> list[ProposedEvent]:
    return [ProposedEvent(t, b"{}") for t in types]


@pytest.fixture
def db() -> Database:
    return Database()


def test_append_assigns_revisions_positions_and_server_content_types(db: Database) -> None:
    result = db.append(
        "s",
        [
            ProposedEvent("A", b"{}"),
            ProposedEvent("B", b"raw", content_type="text/plain"),
        ],
        NO_STREAM,
    )

    first, second = db.events("s")
    assert (first.revision, second.revision) == (0, 1)
    assert first.commit_position < second.commit_position == result.position
    assert result.current_revision == 1
    assert not result.idempotent
    assert (first.content_type, second.content_type) == (
        "application/json",
        "application/octet-stream",  # the server only keeps "is JSON"
    )
    assert abs(first.created - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_atomic_append_to_several_streams_is_all_or_nothing(db: Database) -> None:
    db.append("b", _events("Old"))

    with pytest.raises(WrongExpectedVersion) as raised:
        db.append_many([("a", NO_STREAM, _events("A")), ("b", NO_STREAM, _events("B"))])

    assert (raised.value.stream, raised.value.expected, raised.value.actual) == ("b", -1, 0)
    assert db.events("a") == []
    with pytest.raises(ValueError, match="once"):
        db.append_many([("a", ANY, _events("A")), ("a", ANY, _events("B"))])


def test_idempotency_rules(db: Database) -> None:
    batch = _events("A", "B")
    first = db.append("s", batch, NO_STREAM)

    assert db.append("s", batch, NO_STREAM).idempotent
    assert db.append("s", batch, ANY).position == first.position
    assert db.append("s", batch[:1], STREAM_EXISTS).position == db.events("s")[0].commit_position
    with pytest.raises(WrongExpectedVersion):  # corrupted: first known, second new
        db.append("s", [batch[0], ProposedEvent("C")], ANY)
    assert len(db.events("s")) == 2

    db.forget_recent_ids()  # as after a restart: ANY no longer recognises the retry
    assert not db.append("s", batch, ANY).idempotent
    assert len(db.events("s")) == 4


def test_soft_delete_then_append_recreates_with_truncation(db: Database) -> None:
    db.append("s", _events("A", "B"))
    db.delete("s", 1)

    assert db.is_soft_deleted("s")
    assert db.current_revision("s") == 1  # kept: appends continue from it
    with pytest.raises(StreamNotFound):
        db.read_stream("s")
    assert db.stream_metadata("s") == {"$tb": DELETED_STREAM}

    db.append("s", _events("C"), NO_STREAM)

    assert [(e.type, e.revision) for e in db.events("s")] == [("C", 2)]
    assert db.stream_metadata("s") == {"$tb": 2}
    assert len(db.events("s", include_deleted=True)) == 3


def test_delete_and_tombstone_expected_versions(db: Database) -> None:
    with pytest.raises(WrongExpectedVersion) as raised:
        db.delete("never", ANY)
    assert raised.value.actual == -1

    db.tombstone("gone", ANY)  # a stream that never existed can be tombstoned
    assert db.is_tombstoned("gone")
    for operation in (db.delete, db.tombstone):
        with pytest.raises(StreamDeleted):
            operation("gone", ANY)
    with pytest.raises(StreamDeleted):
        db.append("gone", _events("A"), NO_STREAM)
    with pytest.raises(StreamDeleted):
        db.read_stream("$$gone")


def test_stream_exists_on_a_soft_deleted_stream_is_deleted(db: Database) -> None:
    db.append("s", _events("A"))
    db.delete("s")

    with pytest.raises(StreamDeleted):
        db.append("s", _events("B"), STREAM_EXISTS)


def test_truncate_before_hides_earlier_revisions(db: Database) -> None:
    db.append("s", _events("A", "B", "C"))
    db.append("$$s", [ProposedEvent("$metadata", b'{"$tb": 1}')])

    assert [e.type for e in db.read_stream("s")] == ["B", "C"]
    assert [e.type for e in db.read_stream("s", backwards=True)] == ["C", "B"]
    assert [e.type for e in db.events("s")] == ["B", "C"]


def test_read_all_positions_limits_and_filters() -> None:
    db = Database(system_projections=False)  # no $et-/$ce- links in $all here
    db.append("orders-1", _events("OrderPlaced", "OrderShipped"))
    db.append("invoices-1", _events("InvoiceSent"))
    db.delete("invoices-1")
    everything = db.read_all()
    second = everything[2].commit_position

    assert [e.type for e in everything] == [
        "$metadata",  # $all begins with system records, as on a real node
        "OrderPlaced",
        "OrderShipped",
        "InvoiceSent",
        "$metadata",
    ]
    assert [e.type for e in db.read_all(from_position=second)][:1] == ["OrderShipped"]
    assert [e.type for e in db.read_all(from_position=second, backwards=True)] == [
        "OrderPlaced",
        "$metadata",
    ]
    assert len(db.read_all(limit=2)) == 2
    by_type = EventFilter("type", regex=r"^Order")
    assert [e.type for e in db.read_all(event_filter=by_type, backwards=True, limit=1)] == [
        "OrderShipped"
    ]
    by_stream = EventFilter("stream", prefixes=("invoices-", "$$invoices-"))
    assert [e.stream for e in db.read_all(event_filter=by_stream)] == ["invoices-1", "$$invoices-1"]
    assert [e.type for e in db.all_events()] == ["OrderPlaced", "OrderShipped", "InvoiceSent"]
    assert db.streams() == ["orders-1", "invoices-1"]
    assert db.streams(include_system=True) == [
        "$$$scavenges",
        "orders-1",
        "invoices-1",
        "$$invoices-1",
    ]


def test_system_projections_write_links_into_all_after_the_events(db: Database) -> None:
    db.append("orders-1", _events("OrderPlaced", "OrderShipped"))
    db.append("$$orders-1", [ProposedEvent("$metadata", b"{}")])  # system events: not linked

    records = [(e.stream, e.type, e.data) for e in db.read_all()]
    assert records[1:] == [
        ("orders-1", "OrderPlaced", b"{}"),
        ("orders-1", "OrderShipped", b"{}"),
        ("$$orders-1", "$metadata", b"{}"),
        ("$et-OrderPlaced", "$>", b"0@orders-1"),
        ("$ce-orders", "$>", b"0@orders-1"),
        ("$et-OrderShipped", "$>", b"1@orders-1"),
        ("$ce-orders", "$>", b"1@orders-1"),
    ]
    assert [e.revision for e in db.events("$ce-orders")] == [0, 1]
    assert db.streams() == ["orders-1"]
    assert [e.type for e in db.all_events()] == ["OrderPlaced", "OrderShipped"]


def test_event_filter_needs_exactly_one_kind_of_expression() -> None:
    with pytest.raises(ValueError, match="either"):
        EventFilter("type")
    with pytest.raises(ValueError, match="either"):
        EventFilter("type", regex="A", prefixes=("A",))


def test_wait_for_wakes_up_on_a_write_from_another_thread(db: Database) -> None:
    writer = threading.Timer(0.05, lambda: db.append("s", _events("A", "B")))
    writer.start()
    try:
        events = db.wait_for_events("s", 2, timeout=5)
    finally:
        writer.join()

    assert [e.type for e in events] == ["A", "B"]
    with pytest.raises(TimeoutError):
        db.wait_for(lambda: False, timeout=0.01)
    with pytest.raises(ValueError, match="count"):
        db.wait_for_events("s", 0)


def test_clear_empties_everything_but_positions_keep_increasing(db: Database) -> None:
    before = db.append("s", _events("A")).position
    version = db.version

    db.clear()

    assert db.streams() == []
    assert [(e.stream, e.type) for e in db.read_all()] == [("$$$scavenges", "$metadata")]
    assert db.version > version
    after = db.append("s", _events("B"), NO_STREAM).position
    assert before is not None
    assert after is not None
    assert after > before
