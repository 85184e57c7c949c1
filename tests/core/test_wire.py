"""Append requests written as bytes equal what kurrentdbclient would send for the same events."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from kurrentdbclient import NewEvent, NewEvents
from kurrentdbclient import StreamState as KState
from kurrentdbclient.protos.v1 import streams_pb2
from kurrentdbclient.protos.v2.streams import streams_pb2 as v2_pb2
from kurrentdbclient.streams import BaseStreamsService
from kurrentdbclient.v2streams import AppendRequestIterator

from plumberd_logging import _wire
from plumberd_logging.codec import CONTENT_TYPE, Codec, EncodedEvent, encode
from plumberd_logging.streams import ANY, NO_STREAM, StreamState

EXPECTED: list[int | StreamState] = [ANY, NO_STREAM, StreamState.EXISTS, 0, 1, 127, 128, 2**40]
KDB = {ANY: KState.ANY, NO_STREAM: KState.NO_STREAM, StreamState.EXISTS: KState.EXISTS}


def _events() -> list[EncodedEvent]:
    """Small and large bodies, non-ASCII types and text, empty metadata and empty data."""
    meta = b'{"Created":"2026-12-03T09:00:00+01:00","$correlationId":"x","$causationId":"x"}'
    return [
        encode({"Message": "hello"}, event_type="LogRecorded"),
        EncodedEvent(uuid4(), "Zählung<Ä>", "ünïcode ✓".encode() * 40, meta),
        EncodedEvent(uuid4(), "Big", b'{"A":"' + b"x" * 20_000 + b'"}', meta),
        EncodedEvent(uuid4(), "NoMeta", b"{}", b""),
        EncodedEvent(UUID(int=1), "NoData", b"", meta),
    ]


def _new(events: list[EncodedEvent]) -> list[NewEvent]:
    return [
        NewEvent(type=e.type, data=e.data, metadata=e.metadata, content_type=CONTENT_TYPE, id=e.id)
        for e in events
    ]


def _kdb(expected: int | StreamState) -> Any:
    return expected if isinstance(expected, int) else KDB[expected]


@pytest.mark.parametrize("expected", EXPECTED)
@pytest.mark.parametrize("timeout", [None, 5.0, 0.25, 2.5e-9, 1e13])
def test_batch_append_bytes_equal_kurrentdbclients(
    expected: int | StreamState, timeout: float | None
) -> None:
    events = _events()
    correlation = uuid4()
    theirs = BaseStreamsService._construct_batch_append_req(
        stream_name="Log-ünï", current_version=_kdb(expected), events=_new(events),
        correlation_id=correlation, timeout=timeout,
    )  # fmt: skip
    ours = _wire.batch_append_request(
        "Log-ünï", expected, events, correlation_id=correlation, timeout=timeout
    )
    assert ours == theirs.SerializeToString(deterministic=True)
    assert streams_pb2.BatchAppendReq.FromString(ours) == theirs


@pytest.mark.parametrize("expected", EXPECTED)
def test_append_request_stream_bytes_equal_kurrentdbclients(expected: int | StreamState) -> None:
    events = _events()
    theirs = list(
        BaseStreamsService._generate_append_reqs(
            stream_name="Orders-1", current_version=_kdb(expected), events=_new(events)
        )
    )
    ours = _wire.append_requests("Orders-1", expected, events)
    assert ours == [m.SerializeToString(deterministic=True) for m in theirs]
    assert [streams_pb2.AppendReq.FromString(b) for b in ours] == theirs


@pytest.mark.parametrize("expected", EXPECTED)
def test_multi_append_request_bytes_equal_kurrentdbclients(expected: int | StreamState) -> None:
    events = [e for e in _events() if e.type != "Big"]
    theirs = next(
        AppendRequestIterator(
            [NewEvents(stream_name="Log-a", events=_new(events), current_version=_kdb(expected))]
        )
    )
    ours = _wire.multi_append_request("Log-a", expected, events)
    assert ours == theirs.SerializeToString(deterministic=True)
    assert v2_pb2.AppendRequest.FromString(ours) == theirs


def test_multi_append_refuses_metadata_with_non_string_values() -> None:
    event = EncodedEvent(uuid4(), "T", b"{}", b'{"Count":3}')
    with pytest.raises(ValueError, match=r"metadata\['Count'\].*string values only"):
        _wire.multi_append_request("Log-a", ANY, [event])


def test_a_negative_revision_is_refused_naming_expected() -> None:
    with pytest.raises(ValueError, match="expected: a revision >= 0"):
        _wire.batch_append_request("s", -3, [], correlation_id=uuid4(), timeout=None)


ID, OTHER = "9f2c6a1e-3b4d-4c5e-8f70-1a2b3c4d5e6f", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
CREATED = '"Created":"2026-12-03T09:00:00.5+01:00"'
IDS = f'"$correlationId":"{ID}","$causationId":"{ID}"'
METADATA = {
    "standard": f'{{{CREATED},"ClientHostName":"vm-1",{IDS}}}',
    "no host": f"{{{CREATED},{IDS}}}",
    "utc created": f'{{"Created":"2026-12-03T08:00:00Z","ClientHostName":"vm-1",{IDS}}}',
    "caused by another": f'{{{CREATED},"$correlationId":"{ID}","$causationId":"{OTHER}"}}',
    "escaped host": f'{{{CREATED},"ClientHostName":"vm\\"1\\\\",{IDS}}}',
    "non-ASCII host": f'{{{CREATED},"ClientHostName":"hôte-ü",{IDS}}}',
    "long host": f'{{{CREATED},"ClientHostName":"{"h" * 200}",{IDS}}}',
    "a user": f'{{{CREATED},{IDS},"UserId":"alice@example.com"}}',
    "custom key": f'{{{CREATED},{IDS},"Source":"camera-3"}}',
    "no ids": f"{{{CREATED}}}",
    "spaced JSON": f"{{ {CREATED}, {IDS} }}",
}


@pytest.mark.parametrize("metadata", METADATA.values(), ids=METADATA.keys())
def test_multi_append_properties_equal_kurrentdbclients_for_every_metadata_shape(
    metadata: str,
) -> None:
    events = [EncodedEvent(uuid4(), "LogRecorded", b"{}", metadata.encode())]
    theirs = next(
        AppendRequestIterator(
            [NewEvents(stream_name="Log-a", events=_new(events), current_version=KState.ANY)]
        )
    )
    ours = _wire.multi_append_request("Log-a", ANY, events)
    assert ours == theirs.SerializeToString(deterministic=True)


@pytest.mark.parametrize("codec", [Codec(), Codec(client_host_name=False)], ids=["host", "none"])
def test_the_codecs_own_metadata_takes_the_fast_properties_path(codec: Codec) -> None:
    """A change to the metadata text must not silently send every event the slow way."""
    metadata = codec.encode({"Message": "hi"}, event_type="LogRecorded").metadata
    assert _wire._standard_properties(metadata) is not None
