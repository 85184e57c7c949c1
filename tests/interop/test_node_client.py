"""The official KurrentDB Node.js client against ``plumberd serve`` (issue #14).

A second official client, written by others, reads what plumberd-logging writes and writes what
it reads: ``@kurrent/kurrentdb-client`` (pinned in ``package.json``), whose reads go through a
Rust addon and whose writes and subscriptions go through grpc-js. Each record is compared field
by field with what kurrentdbclient reads: type, id, data, metadata, revision, positions, isJson.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from kurrentdbclient import KurrentDBClient
from kurrentdbclient.events import RecordedEvent as KurrentRecord

from plumberd_logging import (
    Event,
    EventStoreClient,
    EventStoreHandler,
    EventWriter,
    Metadata,
    configure,
    emits,
)
from plumberd_logging.config import reset_default_writer
from plumberd_logging.testing import InMemoryEventStore, ProposedEvent

from .conftest import node, node_missing

pytestmark = pytest.mark.skipif(node_missing() is not None, reason=node_missing() or "")


class InteropOrderPlaced(Event, category="InteropOrder", stream_id_field="order_id"):
    order_id: str
    amount: float


@emits(InteropOrderPlaced)
def place_order(order_id: str, amount: float) -> None:
    """A domain function: each call becomes an ``InteropOrderPlaced`` event."""


@pytest.fixture
def truth(served: str) -> Iterator[KurrentDBClient]:
    """kurrentdbclient on the same server: what the Node client must agree with."""
    client = KurrentDBClient(served)
    yield client
    client.close()


def _assert_same(seen: dict[str, Any], expected: KurrentRecord) -> None:
    """One record as the Node client decoded it equals kurrentdbclient's, field by field."""
    assert seen["stream"] == expected.stream_name
    assert seen["type"] == expected.type
    assert UUID(seen["id"]) == expected.id
    assert int(seen["revision"]) == expected.stream_position
    assert int(seen["commit"]) == expected.commit_position
    assert int(seen["prepare"]) == expected.prepare_position
    assert seen["isJson"] is (expected.content_type == "application/json")
    if seen["isJson"]:
        assert seen["data"] == {"json": json.loads(expected.data)}
    else:
        assert base64.b64decode(seen["data"]["base64"]) == expected.data
    if not expected.metadata:
        assert seen["metadata"] is None
    elif "json" in seen["metadata"]:
        assert seen["metadata"]["json"] == json.loads(expected.metadata)
    else:
        assert base64.b64decode(seen["metadata"]["base64"]) == expected.metadata


def _write_from_python(url: str, order_id: str) -> str:
    """One event through each entry point: client, writer, logging handler, ``@emits``."""
    stream = f"InteropOrder-{order_id}"
    with EventStoreClient(url, default_deadline=20) as client:
        client.append_to_stream(
            stream, InteropOrderPlaced(order_id=order_id, amount=1.5), Metadata(Source="client")
        )
    with EventWriter(url, linger=0.005) as writer:
        writer.submit(stream, InteropOrderPlaced(order_id=order_id, amount=2.5))
        assert writer.flush(timeout=30)
        handler = EventStoreHandler(writer=writer)
        log = logging.getLogger(f"interop.{order_id}")
        log.propagate = False
        log.addHandler(handler)
        try:
            log.warning(
                "placed", extra={"event": InteropOrderPlaced(order_id=order_id, amount=3.5)}
            )
            log.warning(
                "shipped",
                extra={
                    "event_type": "Shipped",
                    "event_data": {"OrderId": order_id},
                    "stream": stream,
                },
            )
            assert writer.flush(timeout=30)
        finally:
            log.removeHandler(handler)
    default = configure(url, linger=0.005)
    try:
        place_order(order_id=order_id, amount=4.5)
        assert default.flush(timeout=30)
    finally:
        reset_default_writer()
    return stream


def test_python_writes_read_identically_by_node(served: str, truth: KurrentDBClient) -> None:
    order_id = uuid4().hex[:12]
    stream = _write_from_python(served, order_id)
    expected = list(truth.get_stream(stream))
    assert [e.type for e in expected] == [
        "InteropOrderPlaced",
        "InteropOrderPlaced",
        "InteropOrderPlaced",
        "Shipped",
        "InteropOrderPlaced",
    ]

    by_stream = node("read", served, stream=stream)["events"]
    by_all = node("read", served, streamPrefixes=[stream])["events"]
    subscribed = node("subscribe", served, stream=stream, count=len(expected))["events"]

    for seen in (by_stream, by_all, subscribed):
        assert len(seen) == len(expected)
        for resolved, record in zip(seen, expected, strict=True):
            assert resolved["link"] is None
            _assert_same(resolved["event"], record)


def test_node_writes_read_identically_by_python(served: str, truth: KurrentDBClient) -> None:
    stream = f"NodeOrder-{uuid4().hex[:12]}"
    json_id, binary_id = str(uuid4()), str(uuid4())
    written = node(
        "append",
        served,
        stream=stream,
        streamState="no_stream",
        events=[
            {
                "type": "NodePlaced",
                "id": json_id,
                "data": {"OrderId": 7, "Lines": ["a", "b"]},
                "metadata": {"$correlationId": json_id, "Source": "node"},
            },
            {"type": "NodeBlob", "id": binary_id, "base64": "AAECAw==", "metadata": {"k": 1}},
        ],
    )

    placed, blob = truth.get_stream(stream)
    assert int(written["revision"]) == 1
    assert int(written["commit"]) == blob.commit_position
    assert (placed.id, placed.type, placed.stream_position) == (UUID(json_id), "NodePlaced", 0)
    assert json.loads(placed.data) == {"OrderId": 7, "Lines": ["a", "b"]}
    assert json.loads(placed.metadata) == {"$correlationId": json_id, "Source": "node"}
    assert placed.content_type == "application/json"
    assert (blob.id, blob.data, blob.content_type) == (
        UUID(binary_id),
        b"\x00\x01\x02\x03",
        "application/octet-stream",
    )
    assert json.loads(blob.metadata) == {"k": 1}
    with EventStoreClient(served, default_deadline=20) as ours:
        read = ours.read_stream(stream)
    assert [(e.id, e.type, e.revision, e.position) for e in read] == [
        (UUID(json_id), "NodePlaced", 0, placed.commit_position),
        (UUID(binary_id), "NodeBlob", 1, blob.commit_position),
    ]
    assert read[0].data == {"OrderId": 7, "Lines": ["a", "b"]}
    assert read[1].raw_data == b"\x00\x01\x02\x03"


# -- what the server announces and serves (in-process, so calls can be counted) -------------


@pytest.fixture
def store() -> Iterator[InMemoryEventStore]:
    reason = node_missing()
    if reason is not None:
        pytest.skip(reason)
    with InMemoryEventStore() as server:
        yield server


def test_node_chooses_batch_append_and_multi_stream_append_from_server_features(
    store: InMemoryEventStore,
) -> None:
    features = node("features", store.url)
    assert features == {
        "serverVersion": "25.1.0",
        "batchAppend": True,
        "appendSession": True,
        "appendRecords": False,
        "listAll": True,
        "persistentCreate": False,
    }

    node("append", store.url, stream="batched-1", events=[{"type": "A", "data": {}}])
    assert (store.calls["BatchAppend"], store.calls["Append"]) == (1, 0)

    result = node(
        "multiAppend",
        store.url,
        requests=[
            {"stream": "multi-1", "events": [{"type": "A", "data": {"n": 1}}]},
            {"stream": "multi-2", "events": [{"type": "B", "data": {}}, {"type": "C", "data": {}}]},
        ],
    )
    assert store.calls["AppendSession"] == 1
    assert result["responses"] == [
        {"stream": "multi-1", "revision": "0"},
        {"stream": "multi-2", "revision": "1"},
    ]
    assert int(result["position"]) == store.events("multi-2")[-1].commit_position
    assert [e.type for e in store.events("multi-1") + store.events("multi-2")] == ["A", "B", "C"]


def test_node_cannot_write_the_metadata_of_a_tombstoned_stream(store: InMemoryEventStore) -> None:
    answer = node("tombstoneThenMetadata", store.url, stream="doomed-1")
    assert answer == {"error": "StreamDeletedError", "type": "stream-deleted"}
    assert store.events("$$doomed-1", include_deleted=True) == []


def test_node_lists_no_persistent_subscriptions(store: InMemoryEventStore) -> None:
    assert node("listPersistent", store.url) == {"count": 0}


def test_node_sees_system_records_first_in_all_unless_excluded(store: InMemoryEventStore) -> None:
    store.append("plain-1", [ProposedEvent("Plain", b"{}")])

    everything = node("read", store.url)["events"]
    filtered = node("read", store.url, excludeSystem=True)["events"]

    assert everything[0]["event"]["type"] == "$metadata"
    assert everything[0]["event"]["stream"].startswith("$$")
    assert [e["event"]["type"] for e in filtered] == ["Plain"]


def test_node_reads_and_subscribes_to_et_and_ce_streams_with_resolved_links(
    store: InMemoryEventStore,
) -> None:
    store.append("basket-1", [ProposedEvent("ItemAdded", b'{"sku": 1}')])
    store.append("basket-2", [ProposedEvent("ItemAdded", b'{"sku": 2}')])
    originals = store.events("basket-1") + store.events("basket-2")

    by_type = node("read", store.url, stream="$et-ItemAdded", resolveLinks=True)["events"]
    by_category = node("read", store.url, stream="$ce-basket", resolveLinks=True)["events"]
    raw = node("read", store.url, stream="$ce-basket")["events"]
    live = node(
        "subscribe",
        store.url,
        stream="$ce-basket",
        resolveLinks=True,
        count=3,
        appendAfter={"stream": "basket-3", "events": [{"type": "ItemRemoved", "data": {}}]},
    )["events"]

    for seen in (by_type, by_category, live[:2]):
        assert [UUID(e["event"]["id"]) for e in seen] == [e.id for e in originals]
        assert [e["event"]["data"] for e in seen] == [{"json": {"sku": 1}}, {"json": {"sku": 2}}]
        assert all(e["link"]["type"] == "$>" for e in seen)
    assert [e["link"]["stream"] for e in by_category] == ["$ce-basket", "$ce-basket"]
    assert [e["event"]["type"] for e in raw] == ["$>", "$>"]
    assert base64.b64decode(raw[1]["event"]["data"]["base64"]) == b"0@basket-2"
    assert (live[2]["event"]["type"], live[2]["event"]["stream"]) == ("ItemRemoved", "basket-3")
    assert live[2]["link"]["stream"] == "$ce-basket"


def test_node_idle_subscription_outlives_its_keepalive_pings(store: InMemoryEventStore) -> None:
    """Five 1 s keepalive intervals idle (the default is 10 s; the 60 s test covers that)."""
    url = f"{store.url}&keepAliveInterval=1000&keepAliveTimeout=10000"
    answer = node("idle", url, stream="idle-1", idleMs=5000)
    assert answer["idleErrors"] == []
    assert [e["event"]["type"] for e in answer["events"]] == ["AfterIdle"]
