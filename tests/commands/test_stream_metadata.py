"""EventStoreClient.get_stream_metadata / set_stream_metadata (used for the session streams)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from plumberd_logging import NO_STREAM, EventStoreClient, WrongExpectedVersion
from plumberd_logging.testing import InMemoryEventStore


def test_round_trip(eventstore: InMemoryEventStore) -> None:
    with EventStoreClient(eventstore.url) as client:
        assert client.get_stream_metadata("Orders-1") == {}
        client.set_stream_metadata("Orders-1", {"$maxAge": 60, "mp_query_hash": "abc"})
        assert client.get_stream_metadata("Orders-1") == {"$maxAge": 60, "mp_query_hash": "abc"}
        client.set_stream_metadata("Orders-1", {"$maxCount": 10}, expected_position=0)
        assert client.get_stream_metadata("Orders-1") == {"$maxCount": 10}  # replaced
    assert eventstore.stream_metadata("Orders-1") == {"$maxCount": 10}


def test_expected_position_of_the_metadata_stream(eventstore: InMemoryEventStore) -> None:
    with EventStoreClient(eventstore.url) as client:
        client.set_stream_metadata("Orders-1", {"$maxAge": 60}, expected_position=NO_STREAM)
        with pytest.raises(WrongExpectedVersion):
            client.set_stream_metadata("Orders-1", {"$maxAge": 61}, expected_position=NO_STREAM)
    assert eventstore.stream_metadata("Orders-1") == {"$maxAge": 60}


@pytest.mark.parametrize(
    ("metadata", "error", "text"),
    [
        ({"$maxAge": 0}, ValueError, "metadata['$maxAge']): expected an int >= 1, got 0"),
        ({"$maxAge": 1.5}, ValueError, "expected an int >= 1"),
        ({"$maxCount": True}, ValueError, "metadata['$maxCount'])"),
        ({"$tb": -1}, ValueError, "metadata['$tb']): expected an int >= 0"),
        ({"x": float("nan")}, ValueError, "not JSON"),
        ({"x": object()}, ValueError, "not JSON"),
        ({1: "a"}, ValueError, "bad key 1"),
        ([("a", 1)], TypeError, "expected a dict"),
    ],
)
def test_bad_metadata_is_refused_before_anything_is_sent(
    eventstore: InMemoryEventStore, metadata: Any, error: type[Exception], text: str
) -> None:
    with EventStoreClient(eventstore.url) as client, pytest.raises(error, match=re.escape(text)):
        client.set_stream_metadata("Orders-1", metadata)
    assert eventstore.calls["Append"] == 0
