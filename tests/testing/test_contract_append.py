"""Contract: appending through both append RPCs, as the real kurrentdbclient sees it.

Runs against the in-process server by default and unchanged against a real one
(``PLUMBERD_TEST_URL``). ``append`` is parametrised over ``Streams.Append`` (``events=NewEvent``)
and ``Streams.BatchAppend`` (``events=[...]``), which report errors through different channels.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import NotFoundError, WrongCurrentVersionError

from .eventstore_helpers import AppendFn, event, ids

NS = StreamState.NO_STREAM
ANY = StreamState.ANY
EXISTS = StreamState.EXISTS


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/octet-stream"], ids=["json", "bytes"]
)
def test_round_trip_keeps_type_data_metadata_content_type_and_id(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn, content_type: str
) -> None:
    sent = NewEvent(
        type="OrderPlaced",
        data=b'{"Id": 7, "Total": 12.5}' if content_type == "application/json" else b"\x00\xff",
        metadata=b'{"$correlationId": "c-1", "Created": "2026-11-26T10:00:00Z"}',
        content_type=content_type,  # type: ignore[arg-type]
        id=uuid4(),
    )

    position = append(eventstore_client, stream, [sent], NS)

    [got] = eventstore_client.get_stream(stream)
    assert (got.type, got.data, got.metadata, got.content_type, got.id) == (
        sent.type,
        sent.data,
        sent.metadata,
        content_type,
        sent.id,
    )
    assert got.stream_name == stream
    assert got.stream_position == 0
    assert got.commit_position == position > 0
    assert got.recorded_at is not None
    assert abs(datetime.now(timezone.utc) - got.recorded_at) < timedelta(minutes=5)


def test_append_returns_the_commit_position_of_the_last_event(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    first = append(eventstore_client, stream, [event(n=1)], NS)
    second = append(eventstore_client, stream, [event(n=2), event(n=3)], 0)

    recorded = eventstore_client.get_stream(stream)
    assert [e.stream_position for e in recorded] == [0, 1, 2]
    assert first == recorded[0].commit_position
    assert second == recorded[2].commit_position
    assert recorded[0].commit_position < recorded[1].commit_position < recorded[2].commit_position


# (events already in the stream, expected version, actual version reported or None for success)
EXPECTED_VERSION_CASES = [
    pytest.param(0, NS, None, id="no_stream-on-new"),
    pytest.param(0, ANY, None, id="any-on-new"),
    pytest.param(0, EXISTS, NS, id="exists-on-new"),
    pytest.param(0, 0, NS, id="exact-0-on-new"),
    pytest.param(1, NS, 0, id="no_stream-on-existing"),
    pytest.param(1, ANY, None, id="any-on-existing"),
    pytest.param(1, EXISTS, None, id="exists-on-existing"),
    pytest.param(1, 0, None, id="exact-current"),
    pytest.param(1, 1, 0, id="exact-ahead"),
    pytest.param(2, 0, 1, id="exact-behind"),
]


@pytest.mark.parametrize(("existing", "expected", "actual"), EXPECTED_VERSION_CASES)
def test_expected_version(
    *,
    eventstore_client: KurrentDBClient,
    stream: str,
    append: AppendFn,
    existing: int,
    expected: int | StreamState,
    actual: int | StreamState | None,
) -> None:
    if existing:
        eventstore_client.append_to_stream(
            stream, current_version=NS, events=[event(n=i) for i in range(existing)]
        )
    new = event("Next")

    if actual is None:
        append(eventstore_client, stream, [new], expected)
        assert eventstore_client.get_stream(stream)[-1].id == new.id
        assert eventstore_client.get_current_version(stream) == existing
        return

    with pytest.raises(WrongCurrentVersionError) as raised:
        append(eventstore_client, stream, [new], expected)
    assert raised.value.stream_name == stream
    assert raised.value.expected_version == expected
    assert raised.value.actual_version == actual
    if existing:
        assert new.id not in ids(eventstore_client.get_stream(stream))
    else:
        with pytest.raises(NotFoundError):
            eventstore_client.get_stream(stream)


def test_retry_with_explicit_version_is_idempotent(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    events = [event(n=1), event(n=2)]
    position = append(eventstore_client, stream, events, NS)

    assert append(eventstore_client, stream, events, NS) == position

    assert ids(eventstore_client.get_stream(stream)) == ids(events)


def test_retry_with_any_is_idempotent(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    sent = event()
    position = append(eventstore_client, stream, [sent], ANY)

    assert append(eventstore_client, stream, [sent], ANY) == position

    assert ids(eventstore_client.get_stream(stream)) == [sent.id]


def test_partial_retry_returns_the_position_of_its_own_last_event(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    events = [event(n=i) for i in range(3)]
    append(eventstore_client, stream, events, NS)
    recorded = eventstore_client.get_stream(stream)

    assert append(eventstore_client, stream, events[:2], NS) == recorded[1].commit_position
    assert len(eventstore_client.get_stream(stream)) == 3


@pytest.mark.parametrize("retry_version", [NS, ANY], ids=["no_stream", "any"])
def test_corrupted_idempotency_is_a_wrong_expected_version(
    eventstore_client: KurrentDBClient,
    stream: str,
    append: AppendFn,
    retry_version: StreamState,
) -> None:
    """First id already written, a later one not: "part is ok, part is different"."""
    first, second = event(n=1), event(n=2)
    append(eventstore_client, stream, [first, second], NS)

    with pytest.raises(WrongCurrentVersionError):
        append(eventstore_client, stream, [first, event(n=3)], retry_version)

    assert ids(eventstore_client.get_stream(stream)) == [first.id, second.id]


def test_retry_whose_first_event_differs_is_a_wrong_expected_version(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    first, second = event(n=1), event(n=2)
    append(eventstore_client, stream, [first, second], NS)

    with pytest.raises(WrongCurrentVersionError) as raised:
        append(eventstore_client, stream, [event(n=3), second], NS)

    assert raised.value.actual_version == 1
    assert len(eventstore_client.get_stream(stream)) == 2


def test_any_with_an_unknown_first_id_is_a_new_write_even_if_later_ids_are_known(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    """KurrentDB only checks the first id for ANY: the known event is written a second time."""
    known = event(n=1)
    append(eventstore_client, stream, [known], ANY)

    append(eventstore_client, stream, [event(n=2), known], ANY)

    assert ids(eventstore_client.get_stream(stream)).count(known.id) == 2


def test_empty_append_returns_zero_and_creates_no_stream(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    assert append(eventstore_client, stream, [], NS) == 0

    with pytest.raises(NotFoundError):
        eventstore_client.get_stream(stream)
