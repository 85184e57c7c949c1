"""Contract: ``multi_append_to_stream`` (v2 ``StreamsService.AppendSession``, KurrentDB >= 25.1).

Atomic across streams, one expected version per stream, errors as rich gRPC status details
(``grpc-status-details-bin``) that kurrentdbclient turns into typed exceptions.
"""

from __future__ import annotations

import json

import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, NewEvents, StreamState
from kurrentdbclient.exceptions import (
    MultiAppendToSameStreamError,
    NotFoundError,
    ProgrammingError,
    StreamTombstonedError,
    TransactionMaxSizeExceededError,
    WrongCurrentVersionError,
)

from .eventstore_helpers import event, ids

NS = StreamState.NO_STREAM


def test_appends_to_several_streams_at_once(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    orders = [event("OrderPlaced", 1), event("OrderPlaced", 2)]
    invoice = event("InvoiceSent", metadata=b'{"$correlationId": "c-1", "Source": "billing"}')

    position = eventstore_client.multi_append_to_stream(
        [
            NewEvents(f"{prefix}-orders", orders, NS),
            NewEvents(f"{prefix}-invoices", [invoice], StreamState.ANY),
        ]
    )

    got_orders = eventstore_client.get_stream(f"{prefix}-orders")
    [got_invoice] = eventstore_client.get_stream(f"{prefix}-invoices")
    assert ids(got_orders) == ids(orders)
    assert got_invoice.id == invoice.id
    assert got_invoice.content_type == "application/json"
    assert json.loads(got_invoice.metadata) == {"$correlationId": "c-1", "Source": "billing"}
    assert position == max(e.commit_position for e in [*got_orders, got_invoice])


def test_one_wrong_expected_version_fails_the_whole_append_with_details(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    existing = f"{prefix}-existing"
    eventstore_client.append_to_stream(existing, current_version=NS, events=[event()])

    with pytest.raises(WrongCurrentVersionError) as raised:
        eventstore_client.multi_append_to_stream(
            [
                NewEvents(f"{prefix}-fresh", [event(n=1)], NS),
                NewEvents(existing, [event(n=2)], NS),
            ]
        )

    assert raised.value.stream_name == existing
    assert raised.value.actual_version == 0
    assert raised.value.expected_version is NS
    with pytest.raises(NotFoundError):  # atomic: nothing was written to the other stream
        eventstore_client.get_stream(f"{prefix}-fresh")
    assert len(eventstore_client.get_stream(existing)) == 1


def test_exact_expected_versions_and_idempotent_retry(
    eventstore_client: KurrentDBClient, prefix: str
) -> None:
    eventstore_client.append_to_stream(f"{prefix}-a", current_version=NS, events=[event()])
    batch = [
        NewEvents(f"{prefix}-a", [event(n=1)], 0),
        NewEvents(f"{prefix}-b", [event(n=2)], NS),
    ]

    position = eventstore_client.multi_append_to_stream(batch)

    assert eventstore_client.multi_append_to_stream(batch) == position
    assert eventstore_client.get_current_version(f"{prefix}-a") == 1
    assert eventstore_client.get_current_version(f"{prefix}-b") == 0


@pytest.mark.parametrize("metadata", [b"not json", b"[1]", b'{"n": 1}'])
def test_metadata_must_be_empty_or_a_json_object_of_strings(
    eventstore_client: KurrentDBClient, stream: str, metadata: bytes
) -> None:
    """The v2 API carries metadata as string properties; the client refuses anything else."""
    with pytest.raises(ProgrammingError, match="metadata"):
        eventstore_client.multi_append_to_stream(NewEvents(stream, [event(metadata=metadata)], NS))

    with pytest.raises(NotFoundError):
        eventstore_client.get_stream(stream)


def test_the_same_stream_twice_is_refused(eventstore_client: KurrentDBClient, stream: str) -> None:
    with pytest.raises(MultiAppendToSameStreamError):
        eventstore_client.multi_append_to_stream(
            [NewEvents(stream, [event(n=1)], NS), NewEvents(stream, [event(n=2)], 0)]
        )


def test_a_tombstoned_stream_is_refused(eventstore_client: KurrentDBClient, stream: str) -> None:
    eventstore_client.tombstone_stream(stream, current_version=StreamState.ANY)

    with pytest.raises(StreamTombstonedError):
        eventstore_client.multi_append_to_stream(NewEvents(stream, [event()], StreamState.ANY))


def test_too_large_a_transaction_is_refused(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    big = NewEvent(type="Blob", data=b"x" * 700_000, content_type="application/octet-stream")
    other = NewEvent(type="Blob", data=b"y" * 700_000, content_type="application/octet-stream")

    with pytest.raises(TransactionMaxSizeExceededError) as raised:
        eventstore_client.multi_append_to_stream(NewEvents(stream, [big, other], NS))

    assert raised.value.max_size == 1_048_576
    with pytest.raises(NotFoundError):
        eventstore_client.get_stream(stream)
