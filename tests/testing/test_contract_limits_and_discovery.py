"""Contract: single-node discovery through gossip, and the maximum append size (1 MiB).

KurrentDB counts an append's size as data + metadata + 2 bytes per character of the event type
(``Event.SizeOnDisk``), summed over the events of the append.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import GrpcError, MaximumAppendSizeExceededError, NotFoundError

from .eventstore_helpers import discover_url, event, ids

NS = StreamState.NO_STREAM
MAX_APPEND_SIZE = 1_048_576


def test_discovery_through_gossip_finds_the_single_node(
    eventstore_url: str,
    client_for: Callable[[str], KurrentDBClient],
    stream: str,
    is_real_server: bool,
) -> None:
    client = client_for(discover_url(eventstore_url))
    sent = event()

    client.append_to_stream(stream, current_version=NS, events=[sent])

    assert ids(client.get_stream(stream)) == [sent.id]
    [member] = client.read_gossip()
    assert member.state == "NODE_STATE_LEADER"
    if not is_real_server:  # a container advertises its own address, not the mapped port
        target = urlsplit(eventstore_url)
        assert (member.address, member.port) == (target.hostname, target.port)


def _blob(size_on_disk: int, event_type: str = "Blob") -> NewEvent:
    data = b"x" * (size_on_disk - 2 * len(event_type))
    return NewEvent(type=event_type, data=data, content_type="application/octet-stream")


def test_an_append_of_exactly_the_maximum_size_is_accepted(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    half = MAX_APPEND_SIZE // 2
    eventstore_client.append_to_stream(
        stream, current_version=NS, events=[_blob(half), _blob(MAX_APPEND_SIZE - half)]
    )

    assert len(eventstore_client.get_stream(stream)) == 2


@pytest.mark.parametrize("events", [1, 2], ids=["one-event", "sum-of-two"])
def test_batch_append_over_the_maximum_size_is_refused(
    eventstore_client: KurrentDBClient, stream: str, events: int
) -> None:
    half = MAX_APPEND_SIZE // 2
    sizes = [MAX_APPEND_SIZE + 1] if events == 1 else [half, MAX_APPEND_SIZE - half + 1]

    with pytest.raises(MaximumAppendSizeExceededError, match=str(MAX_APPEND_SIZE)):
        eventstore_client.append_to_stream(
            stream, current_version=NS, events=[_blob(size) for size in sizes]
        )

    with pytest.raises(NotFoundError):
        eventstore_client.get_stream(stream)


def test_append_rpc_over_the_maximum_size_is_a_plain_grpc_error(
    eventstore_client: KurrentDBClient, stream: str
) -> None:
    """Streams.Append answers INVALID_ARGUMENT, which kurrentdbclient does not map further."""
    with pytest.raises(GrpcError, match=f"Maximum Append Size of {MAX_APPEND_SIZE} Exceeded"):
        eventstore_client.append_to_stream(
            stream, current_version=NS, events=_blob(MAX_APPEND_SIZE + 1)
        )

    with pytest.raises(NotFoundError):
        eventstore_client.get_stream(stream)
