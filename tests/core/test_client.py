"""EventStoreClient against the in-process server (and a real one through PLUMBERD_TEST_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from golden import (
    G1_EVENT,
    G2_EVENT,
    G3_EVENT,
    G5_EVENT,
    G5_TRIGGER,
    G5_USER,
    RecordingFinished,
)
from kurrentdbclient import KurrentDBClient

from plumberd_logging import (
    NO_STREAM,
    STREAM_EXISTS,
    Event,
    EventStoreClient,
    Metadata,
    PlumberdError,
    StreamName,
    StreamNotFound,
    Unavailable,
    WrongExpectedVersion,
    caused_by,
)
from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter


@pytest.fixture
def client(eventstore_url: str) -> Iterator[EventStoreClient]:
    with EventStoreClient(eventstore_url) as c:
        yield c


def unique(category: str = "Test") -> StreamName:
    return StreamName(category, uuid4())


def test_append_and_read_back_decoded(client: EventStoreClient) -> None:
    stream = unique("Recording")
    event = RecordingFinished(recording_id="r-1", duration=1.5, file_path="/a.mp4")
    position = client.append_to_stream(stream, event, Metadata(Camera="front"))
    [recorded] = client.read_stream(stream)
    assert recorded.id == event.id
    assert recorded.type == "RecordingFinished"
    assert recorded.data == {
        "Id": str(event.id),
        "RecordingId": "r-1",
        "Duration": 1.5,
        "FilePath": "/a.mp4",
    }
    assert recorded.metadata["Camera"] == "front"
    assert recorded.metadata["$correlationId"] == str(event.id)
    assert recorded.revision == 0
    assert recorded.position == position
    assert recorded.content_type == "application/json"
    assert recorded.stream == stream


def test_an_append_starts_no_thread_to_read_its_one_request(
    client: EventStoreClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One append is one request: sent as a unary-stream call, not as a request iterator that
    gRPC reads on a thread it starts per call (about half the client's CPU per call)."""
    import grpc._channel

    readers: list[object] = []
    reader = grpc._channel._consume_request_iterator  # starts that thread

    def counting(*args: object) -> None:
        readers.append(args[0])
        reader(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(grpc._channel, "_consume_request_iterator", counting)
    stream = unique("Threads")
    for n in range(5):
        event = RecordingFinished(recording_id=str(n), duration=1.0, file_path="/a")
        client.append_to_stream(stream, event)
    assert len(list(client.read_stream(stream))) == 5
    assert readers == []


def test_a_list_is_one_atomic_append(eventstore: InMemoryEventStore) -> None:
    with EventStoreClient(eventstore.url) as client:
        events = [
            RecordingFinished(recording_id=str(i), duration=i, file_path="") for i in range(5)
        ]
        client.append_to_stream("Recording-many", events)
        assert [r.revision for r in client.read_stream("Recording-many")] == list(range(5))
    assert eventstore.calls["BatchAppend"] == 1


def test_expected_positions(client: EventStoreClient) -> None:
    stream = unique()
    with pytest.raises(WrongExpectedVersion) as missing:
        client.append_to_stream(stream, G1_EVENT, expected_position=STREAM_EXISTS)
    assert missing.value.stream == stream
    client.append_to_stream(
        stream,
        RecordingFinished(recording_id="a", duration=1, file_path=""),
        expected_position=NO_STREAM,
    )
    client.append_to_stream(
        stream, RecordingFinished(recording_id="b", duration=1, file_path=""), expected_position=0
    )
    with pytest.raises(WrongExpectedVersion) as stale:
        client.append_to_stream(
            stream,
            RecordingFinished(recording_id="c", duration=1, file_path=""),
            expected_position=0,
        )
    assert (stale.value.expected, stale.value.actual) == (0, 1)
    assert "is at revision 1, expected revision 0" in str(stale.value)
    assert client.stream_revision(stream) == 1


def test_retrying_the_same_append_does_not_duplicate(client: EventStoreClient) -> None:
    stream = unique()
    event = RecordingFinished(recording_id="once", duration=1, file_path="")
    first = client.append_to_stream(stream, event, expected_position=NO_STREAM)
    again = client.append_to_stream(stream, event, expected_position=NO_STREAM)
    assert first == again
    assert len(client.read_stream(stream)) == 1


def test_missing_stream(client: EventStoreClient) -> None:
    stream = unique()
    with pytest.raises(StreamNotFound, match="not found"):
        client.read_stream(stream)
    assert client.stream_revision(stream) is None


@pytest.mark.parametrize("event", [G1_EVENT, G2_EVENT, G3_EVENT], ids=["G1", "G2", "G3"])
def test_golden_events_read_back_through_the_raw_client(eventstore_url: str, event: Event) -> None:
    stream = unique()
    with EventStoreClient(eventstore_url) as client:
        client.append_to_stream(stream, event)
    raw = KurrentDBClient(eventstore_url)
    try:
        [recorded] = raw.get_stream(stream)
    finally:
        raw.close()
    assert recorded.type == type(event).__name__
    assert recorded.id == event.id
    assert recorded.content_type == "application/json"
    import json

    meta = json.loads(recorded.metadata)
    assert {"Created", "$correlationId", "$causationId"} <= meta.keys()
    assert meta["$correlationId"] == meta["$causationId"] == str(event.id)


def test_golden_g5_appends_to_an_aggregate_stream_at_its_revision(eventstore_url: str) -> None:
    import json

    stream = StreamName("CameraAggregate", uuid4())
    with EventStoreClient(eventstore_url) as client:
        for i in range(5):  # revisions 0..4, as if C# had saved the aggregate
            client.append_to_stream(
                stream, RecordingFinished(recording_id=str(i), duration=0, file_path="")
            )
        with caused_by(G5_TRIGGER, {"$correlationId": str(G5_TRIGGER), "UserId": G5_USER}):
            client.append_to_stream(stream, G5_EVENT, expected_position=4)
        recorded = client.read_stream(stream)[-1]
    assert (recorded.type, recorded.id, recorded.revision) == ("CameraRenamed", G5_EVENT.id, 5)
    assert (
        recorded.metadata["$correlationId"] == recorded.metadata["$causationId"] == str(G5_TRIGGER)
    )
    assert recorded.metadata["UserId"] == G5_USER
    assert json.loads(recorded.raw_data) == {"Id": str(G5_EVENT.id), "Name": "Front door (north)"}


def test_discovery_and_kurrentdb_urls_work(eventstore: InMemoryEventStore) -> None:
    for url in (eventstore.discover_url, eventstore.url.replace("esdb://", "kurrentdb://")):
        with EventStoreClient(url) as client:
            client.append_to_stream("Url-1", G1_EVENT)
    assert len(eventstore.events("Url-1")) == 1  # the second append was idempotent


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://admin:s3cret@localhost:2113", "has scheme 'http'"),
        ("esdb://", "names no host"),
        ("esdb://admin:s3cret@localhost:notaport?tls=false", "invalid host:port"),
        ("esdb://localhost:2113", "add ?tls=false"),
        ("esdb://admin:s3cret@localhost:2113?tls=maybe", "tls='maybe'"),
        ("esdb://admin:s3cret@localhost:2113?tls=false&Bogus=1", "connection_string"),
    ],
)
def test_bad_connection_strings_are_explained_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="connection_string") as info:
        EventStoreClient(url)
    assert message in str(info.value)
    assert "s3cret" not in str(info.value)


def test_password_is_masked_in_repr_and_errors() -> None:
    client = EventStoreClient("esdb://admin:s3cret@127.0.0.1:1?tls=false", default_deadline=2)
    assert "s3cret" not in repr(client)
    assert "admin:***@" in client.url
    with pytest.raises(Unavailable) as info:
        client.append_to_stream("X-1", G1_EVENT)
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in repr(info.value)
    client.close()


def test_default_deadline_bounds_a_hanging_server(eventstore: InMemoryEventStore) -> None:
    eventstore.faults.hang("BatchAppend", seconds=30)
    with (
        EventStoreClient(eventstore.url, default_deadline=0.3) as client,
        pytest.raises(Unavailable),
    ):
        client.append_to_stream("Hang-1", G1_EVENT)
    eventstore.faults.clear()


def test_keep_alive_options_reach_the_grpc_channel(eventstore: InMemoryEventStore) -> None:
    with EventStoreClient(eventstore.url, keep_alive_interval=10, keep_alive_timeout=2.5) as client:
        client.append_to_stream("Ka-1", G1_EVENT)
        options = dict(client._client().grpc_options)
    assert options["grpc.keepalive_time_ms"] == 10_000
    assert options["grpc.keepalive_timeout_ms"] == 2_500
    with pytest.raises(ValueError, match="keep_alive_interval"):
        EventStoreClient(eventstore.url, keep_alive_interval=-1)


def test_a_new_client_connects_at_once_to_a_restarted_server(tmp_path: Path) -> None:
    """A client made after a server restart does not inherit the refused connections of one
    that tried while the server was down (gRPC would share them, with their backoff)."""
    for attempt in range(5):
        with InMemoryEventStore() as server:
            url = server.url
            server.stop()
            writer = EventWriter(url, spool_path=tmp_path / str(attempt), linger=0.01)
            writer.submit("Down-1", G1_EVENT)
            assert writer.close(0.2) is False  # it kept trying against the stopped server
            server.restart()
            with EventStoreClient(url) as client:
                assert client.append_to_stream("Up-1", G1_EVENT) >= 0


def test_closing_every_client_leaves_one_idle_grpc_channel(eventstore: InMemoryEventStore) -> None:
    """Closing the process's last gRPC channel could hang it for good (grpc/grpc#42247); the
    library keeps one idle channel for the process. tests/stress shows the hang without it."""
    import grpc

    from plumberd_logging import client as client_module

    with EventStoreClient(eventstore.url) as client:
        client.append_to_stream("Keep-1", G1_EVENT)
    [keeper] = client_module._KEEPER
    assert isinstance(keeper, grpc.Channel)
    with EventStoreClient(eventstore.url) as client:  # one for the process, not one per client
        client.append_to_stream("Keep-1", G1_EVENT)
    assert len(client_module._KEEPER) == 1


def test_closed_client_refuses_calls(eventstore: InMemoryEventStore) -> None:
    client = EventStoreClient(eventstore.url)
    client.close()
    client.close()
    with pytest.raises(PlumberdError, match="closed"):
        client.append_to_stream("X-1", G1_EVENT)
    assert "closed" in repr(client)


def test_bad_arguments_name_the_parameter(client: EventStoreClient) -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        client.append_to_stream("X-1", [])
    with pytest.raises(TypeError, match="stream"):
        client.append_to_stream(None, G1_EVENT)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        client.read_stream("X-1", limit=0)
