"""Contract: soft delete, tombstones and stream metadata, as KurrentDB behaves.

The scenarios follow kurrentdbclient's own tests against real servers: a soft-deleted stream
reads as "not found" and comes back, continuing its revisions, when appended to; a tombstoned
stream is gone for good.
"""

from __future__ import annotations

import pytest
from kurrentdbclient import KurrentDBClient, StreamState
from kurrentdbclient.exceptions import (
    FailedPreconditionError,
    NotFoundError,
    StreamIsDeletedError,
    WrongCurrentVersionError,
)

from .eventstore_helpers import AppendFn, event, ids

NS = StreamState.NO_STREAM
ANY = StreamState.ANY
EXISTS = StreamState.EXISTS
DELETED = 9_223_372_036_854_775_807  # "$tb" of a soft-deleted stream (long.MaxValue)


def _two_events(client: KurrentDBClient, stream: str) -> None:
    client.append_to_stream(stream, current_version=NS, events=[event(n=1), event(n=2)])


def test_soft_deleted_stream_reads_as_not_found(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    _two_events(eventstore_client, stream)

    eventstore_client.delete_stream(stream, current_version=1)

    with pytest.raises(NotFoundError):
        eventstore_client.get_stream(stream)
    assert eventstore_client.get_current_version(stream) is NS
    metadata, _ = eventstore_client.get_stream_metadata(stream)
    assert metadata == {"$tb": DELETED}


@pytest.mark.parametrize("version", [NS, 1, ANY], ids=["no_stream", "last-revision", "any"])
def test_append_to_soft_deleted_stream_recreates_it_continuing_revisions(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn, version: int | StreamState
) -> None:
    _two_events(eventstore_client, stream)
    eventstore_client.delete_stream(stream, current_version=ANY)
    new = event(n=3)

    append(eventstore_client, stream, [new], version)

    [got] = eventstore_client.get_stream(stream)
    assert (got.id, got.stream_position) == (new.id, 2)
    assert eventstore_client.get_current_version(stream) == 2
    assert eventstore_client.get_stream_metadata(stream)[0]["$tb"] == 2


def test_append_to_soft_deleted_stream_with_an_old_version_fails(
    eventstore_client: KurrentDBClient, stream: str, append: AppendFn
) -> None:
    _two_events(eventstore_client, stream)
    eventstore_client.delete_stream(stream, current_version=1)

    with pytest.raises(WrongCurrentVersionError):
        append(eventstore_client, stream, [event(n=3)], 0)


def test_delete_checks_the_expected_version(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    _two_events(eventstore_client, stream)

    with pytest.raises(WrongCurrentVersionError) as raised:
        eventstore_client.delete_stream(stream, current_version=0)

    assert (raised.value.expected_version, raised.value.actual_version) == (0, 1)
    assert len(eventstore_client.get_stream(stream)) == 2
    eventstore_client.delete_stream(stream, current_version=1)
    eventstore_client.delete_stream(stream, current_version=1)  # again: still at revision 1
    with pytest.raises(StreamIsDeletedError):
        eventstore_client.delete_stream(stream, current_version=EXISTS)


@pytest.mark.parametrize("version", [ANY, NS, EXISTS, 0], ids=["any", "no_stream", "exists", "0"])
def test_deleting_a_stream_that_never_existed_is_not_found(
    eventstore_client: KurrentDBClient, stream: str, version: int | StreamState
) -> None:
    with pytest.raises(NotFoundError):
        eventstore_client.delete_stream(stream, current_version=version)


def test_tombstoned_stream_is_gone_for_good(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    _two_events(eventstore_client, stream)

    eventstore_client.tombstone_stream(stream, current_version=1)

    with pytest.raises(StreamIsDeletedError):
        eventstore_client.get_stream(stream)
    with pytest.raises(StreamIsDeletedError):
        eventstore_client.get_current_version(stream)
    with pytest.raises(StreamIsDeletedError):
        eventstore_client.tombstone_stream(stream, current_version=ANY)
    with pytest.raises(StreamIsDeletedError):
        eventstore_client.delete_stream(stream, current_version=ANY)
    with pytest.raises(StreamIsDeletedError):
        eventstore_client.get_stream_metadata(stream)


def test_appending_to_a_tombstoned_stream_fails_on_both_rpcs(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    eventstore_client.tombstone_stream(stream, current_version=ANY)  # may never have existed

    with pytest.raises(StreamIsDeletedError):
        eventstore_client.append_to_stream(stream, current_version=ANY, events=[event()])
    # Streams.Append reports it as a FAILED_PRECONDITION status, which kurrentdbclient
    # maps to its generic FailedPreconditionError ("Event stream '...' is deleted.").
    with pytest.raises(FailedPreconditionError, match="is deleted"):
        eventstore_client.append_to_stream(stream, current_version=ANY, events=event())


def test_tombstone_checks_the_expected_version(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    _two_events(eventstore_client, stream)

    with pytest.raises(WrongCurrentVersionError):
        eventstore_client.tombstone_stream(stream, current_version=0)
    with pytest.raises(NotFoundError):
        eventstore_client.tombstone_stream(stream + "-never", current_version=EXISTS)
    assert len(eventstore_client.get_stream(stream)) == 2


def test_stream_metadata_round_trip_and_version_check(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    eventstore_client.set_stream_metadata(stream, metadata={"Owner": "orders", "$maxCount": 50})
    metadata, version = eventstore_client.get_stream_metadata(stream)
    assert (metadata, version) == ({"Owner": "orders", "$maxCount": 50}, 0)

    eventstore_client.set_stream_metadata(stream, metadata={"Owner": "x"}, current_version=0)
    with pytest.raises(WrongCurrentVersionError):
        eventstore_client.set_stream_metadata(stream, metadata={}, current_version=0)

    assert eventstore_client.get_stream_metadata(stream) == ({"Owner": "x"}, 1)
    with pytest.raises(NotFoundError):  # metadata alone does not make events
        eventstore_client.get_stream(stream)


def test_stream_exists_counts_a_stream_with_only_metadata(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    eventstore_client.set_stream_metadata(stream, metadata={"Owner": "orders"})
    sent = event()

    eventstore_client.append_to_stream(stream, current_version=EXISTS, events=[sent])

    assert ids(eventstore_client.get_stream(stream)) == [sent.id]


def test_setting_metadata_of_a_soft_deleted_stream_undeletes_it_truncated(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    _two_events(eventstore_client, stream)
    eventstore_client.delete_stream(stream, current_version=ANY)
    metadata, version = eventstore_client.get_stream_metadata(stream)

    eventstore_client.set_stream_metadata(
        stream, metadata={**metadata, "Owner": "x"}, current_version=version
    )

    assert eventstore_client.get_stream(stream) == ()  # exists again, old events truncated
    assert eventstore_client.get_stream_metadata(stream)[0] == {"$tb": 2, "Owner": "x"}
