"""The server answers as KurrentDB does where the official clients depend on it (issue #14).

ServerFeatures, stream-deleted metadata of a tombstoned stream, system records at the start of
``$all``, link resolution, the ``$by_event_type``/``$by_category`` system projections, the
persistent-subscription list, and absolute certificate paths in printed URLs.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import grpc
import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import (
    FailedPreconditionError,
    NotFoundError,
    StreamIsDeletedError,
)
from kurrentdbclient.protos.v1 import shared_pb2

from plumberd_logging._cli import serve
from plumberd_logging.testing import Database, InMemoryEventStore, ProposedEvent

pytestmark = pytest.mark.inprocess_only


@pytest.fixture
def client(eventstore: InMemoryEventStore) -> Iterator[KurrentDBClient]:
    made = KurrentDBClient(eventstore.url)
    yield made
    made.close()


def _supported(port: int) -> tuple[str, set[tuple[str, str, tuple[str, ...]]]]:
    from plumberd_logging.testing._server_features import SupportedMethods

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            "/event_store.client.server_features.ServerFeatures/GetSupportedMethods",
            request_serializer=shared_pb2.Empty.SerializeToString,
            response_deserializer=SupportedMethods.FromString,
        )
        answer = call(shared_pb2.Empty(), timeout=10)
    methods = {(m.service_name, m.method_name, tuple(m.features)) for m in answer.methods}
    return answer.event_store_server_version, methods


# -- 2: ServerFeatures -------------------------------------------------------------------------


def test_server_features_name_a_kurrentdb_version_and_the_methods_served(
    eventstore: InMemoryEventStore,
) -> None:
    from plumberd_logging.testing._server_features import SERVED_METHODS, SERVER_VERSION

    version, methods = _supported(eventstore.port)

    assert version == SERVER_VERSION == "25.1.0"
    assert ("event_store.client.streams.streams", "batchappend", ()) in methods
    assert ("kurrentdb.protocol.v2.streams.streamsservice", "appendsession", ()) in methods
    assert (
        "event_store.client.persistent_subscriptions.persistentsubscriptions",
        "list",
        ("stream", "all"),
    ) in methods
    assert len(methods) == len(SERVED_METHODS) == 9
    assert not any(method == "appendrecords" for _, method, _ in methods)  # refused, not served


def test_every_listed_method_is_answered_and_unlisted_ones_are_not(
    eventstore: InMemoryEventStore,
) -> None:
    """An empty request to each listed method gets anything but UNIMPLEMENTED."""
    from plumberd_logging.testing._server_features import SERVED_METHODS

    _, methods = _supported(eventstore.port)
    listed = {f"/{service}/{method}".lower() for service, method, _ in methods}
    unlisted = {
        "/event_store.client.persistent_subscriptions.PersistentSubscriptions/Create",
        "/event_store.client.projections.Projections/Create",
        "/kurrentdb.protocol.v2.streams.StreamsService/AppendRecords",
    }
    with grpc.insecure_channel(f"127.0.0.1:{eventstore.port}") as channel:
        for service, method, _ in SERVED_METHODS:
            path = f"/{service}/{method}"
            assert path.lower() in listed
            assert _empty_call(channel, path) != grpc.StatusCode.UNIMPLEMENTED, path
        for path in unlisted:
            assert path.lower() not in listed
            assert _empty_call(channel, path) == grpc.StatusCode.UNIMPLEMENTED, path


def _empty_call(channel: grpc.Channel, path: str) -> grpc.StatusCode:
    """Send an empty message (valid for every request type); the status code of the answer."""
    call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
    try:
        call(b"", timeout=10)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


# -- 3: metadata of a tombstoned stream --------------------------------------------------------


def test_metadata_of_a_tombstoned_stream_cannot_be_written(
    client: KurrentDBClient, eventstore: InMemoryEventStore, stream: str
) -> None:
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[_event()])
    client.tombstone_stream(stream, current_version=StreamState.ANY)

    with pytest.raises(FailedPreconditionError, match="is deleted"):  # as a tombstoned append
        client.set_stream_metadata(stream, metadata={"$maxCount": 5})
    assert eventstore.database.events(f"$${stream}", include_deleted=True) == []


def test_metadata_written_before_the_tombstone_can_still_be_written_but_not_read(
    client: KurrentDBClient, stream: str
) -> None:
    """As kurrentdbclient's own test_stream_metadata_get_and_set finds on KurrentDB."""
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[_event()])
    client.set_stream_metadata(stream, metadata={"foo": "bar"})
    client.tombstone_stream(stream, current_version=StreamState.ANY)

    client.set_stream_metadata(stream, metadata={"foo": "baz"}, current_version=0)
    with pytest.raises(StreamIsDeletedError):
        client.get_stream_metadata(stream)


# -- 4: system records at the start of $all ----------------------------------------------------


def test_all_begins_with_system_metadata_records_hidden_by_the_default_filter(
    client: KurrentDBClient, stream: str
) -> None:
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[_event()])

    subscription = client.subscribe_to_all(filter_exclude=[], timeout=10)
    try:
        first = next(iter(subscription))
    finally:
        subscription.stop()
    assert first.type == "$metadata"
    assert first.stream_name.startswith("$$")
    unfiltered = list(client.read_all(filter_exclude=[]))
    assert unfiltered[0].type.startswith("$")
    default = list(client.read_all())  # the client's default filter excludes system events
    assert all(not event.type.startswith("$") for event in default)
    assert [e.stream_name for e in default] == [stream]


# -- 5: link events resolved when asked --------------------------------------------------------


def test_links_are_resolved_on_stream_and_all_reads_when_asked(
    client: KurrentDBClient, stream: str
) -> None:
    original = _event("OrderPlaced")
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[original])
    links = f"links{uuid4().hex[:8]}"
    link = NewEvent(type="$>", data=f"0@{stream}".encode(), content_type="application/octet-stream")
    client.append_to_stream(links, current_version=StreamState.NO_STREAM, events=[link])

    [raw] = client.get_stream(links)
    [resolved] = client.get_stream(links, resolve_links=True)
    [from_all] = client.read_all(
        resolve_links=True, filter_exclude=[], filter_include=[links], filter_by_stream_name=True
    )

    assert (raw.type, raw.link) == ("$>", None)
    for event in (resolved, from_all):
        assert (event.id, event.type, event.stream_name) == (original.id, "OrderPlaced", stream)
        assert event.link is not None
        assert (event.link.id, event.link.type, event.link.stream_name) == (link.id, "$>", links)


def test_reading_all_with_resolved_links_repeats_events_through_their_projection_links(
    client: KurrentDBClient, stream: str
) -> None:
    """kurrentdbclient's ``test_read_all_resolve_links``: what a real node answers."""
    start = client.get_commit_position()
    kept = _event("OrderCreated")
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[kept])
    deleted = f"gone-{uuid4().hex[:8]}"
    client.append_to_stream(deleted, current_version=StreamState.NO_STREAM, events=[_event()])
    client.delete_stream(deleted, current_version=0)

    plain = [e.id for e in client.read_all(commit_position=start, filter_exclude=[])]
    resolved = [
        e.id for e in client.read_all(commit_position=start, filter_exclude=[], resolve_links=True)
    ]
    assert plain.count(kept.id) == 1
    assert resolved.count(kept.id) == 3  # the event, then through $et- and $ce- links


def test_a_link_to_a_deleted_event_is_skipped_when_resolving(
    client: KurrentDBClient, stream: str
) -> None:
    client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[_event()])
    links = f"links{uuid4().hex[:8]}"
    link = NewEvent(type="$>", data=f"0@{stream}".encode())
    client.append_to_stream(links, current_version=StreamState.NO_STREAM, events=[link])
    client.delete_stream(stream, current_version=StreamState.ANY)

    assert client.get_stream(links, resolve_links=True) == ()
    assert [e.type for e in client.get_stream(links)] == ["$>"]


# -- 6: $by_event_type and $by_category --------------------------------------------------------


def test_system_projections_link_events_into_et_and_ce_streams(
    client: KurrentDBClient,
) -> None:
    category = f"order{uuid4().hex[:8]}"
    kind = f"Placed{uuid4().hex[:8]}"
    first, second = _event(kind), _event(kind)
    client.append_to_stream(f"{category}-1", current_version=StreamState.ANY, events=[first])
    client.append_to_stream(f"{category}-2-x", current_version=StreamState.ANY, events=[second])

    by_type = client.get_stream(f"$et-{kind}", resolve_links=True)
    by_category = client.get_stream(f"$ce-{category}", resolve_links=True)
    raw = client.get_stream(f"$ce-{category}")

    assert [e.id for e in by_type] == [first.id, second.id]
    assert [e.id for e in by_category] == [first.id, second.id]
    assert [e.stream_name for e in by_category] == [f"{category}-1", f"{category}-2-x"]
    assert [(e.type, e.data, e.stream_position) for e in raw] == [
        ("$>", f"0@{category}-1".encode(), 0),
        ("$>", f"0@{category}-2-x".encode(), 1),
    ]
    assert json.loads(raw[0].metadata)["$o"] == f"{category}-1"
    assert all(e.link is not None and e.link.stream_name == f"$ce-{category}" for e in by_category)
    in_all = [e for e in client.read_all(filter_exclude=[]) if e.stream_name == f"$ce-{category}"]
    assert [e.id for e in in_all] == [e.id for e in raw]  # the links are records of $all too


def test_a_catch_up_subscription_to_a_category_resolves_links_live(
    client: KurrentDBClient,
) -> None:
    category = f"cart{uuid4().hex[:8]}"
    before = _event("ItemAdded")
    client.append_to_stream(f"{category}-1", current_version=StreamState.ANY, events=[before])
    subscription = client.subscribe_to_stream(f"$ce-{category}", resolve_links=True, timeout=10)
    try:
        iterator = iter(subscription)
        assert next(iterator).id == before.id
        after = _event("ItemRemoved")
        client.append_to_stream(f"{category}-2", current_version=StreamState.ANY, events=[after])
        live = next(iterator)
    finally:
        subscription.stop()
    assert (live.id, live.type, live.stream_name) == (after.id, "ItemRemoved", f"{category}-2")


def test_system_projections_can_be_turned_off() -> None:
    with InMemoryEventStore(system_projections=False) as store:
        store.append("order-1", [ProposedEvent("OrderPlaced", b"{}")])
        client = KurrentDBClient(store.url)
        try:
            for projection in ("$ce-order", "$et-OrderPlaced"):
                with pytest.raises(NotFoundError):
                    client.get_stream(projection)
        finally:
            client.close()
    with pytest.raises(ValueError, match="system_projections"):
        InMemoryEventStore(database=Database(), system_projections=False)


def test_the_database_resolves_the_links_it_made() -> None:
    db = Database()
    db.append("order-1", [ProposedEvent("OrderPlaced", b'{"id": 1}')])
    db.append("$$order-1", [ProposedEvent("$metadata", b'{"$maxCount": 1}')])

    [link] = db.events("$et-OrderPlaced")
    target = db.resolve_link(link)
    assert target is not None
    assert (target.stream, target.json()) == ("order-1", {"id": 1})
    assert db.events("$et-$metadata") == []  # system events are not projected
    assert db.events("$ce-$") == []


# -- 7: the persistent-subscription list -------------------------------------------------------


def test_listing_persistent_subscriptions_answers_none(
    client: KurrentDBClient, stream: str
) -> None:
    assert list(client.list_subscriptions()) == []
    assert list(client.list_subscriptions_to_stream(stream)) == []  # NOT_FOUND, turned into []


def test_listing_persistent_subscriptions_needs_a_user_on_a_secure_node() -> None:
    with InMemoryEventStore(tls=True) as store:
        assert store.tls is not None
        credentials = grpc.ssl_channel_credentials(store.tls.read_ca())
        with grpc.secure_channel(f"localhost:{store.port}", credentials) as channel:
            anonymous = _empty_call(
                channel, "/event_store.client.persistent_subscriptions.PersistentSubscriptions/List"
            )
        admin = KurrentDBClient(store.url)
        try:
            assert list(admin.list_subscriptions()) == []
        finally:
            admin.close()
    assert anonymous == grpc.StatusCode.PERMISSION_DENIED


# -- 8: absolute paths in printed URLs ---------------------------------------------------------


def test_a_relative_tls_dir_prints_an_absolute_ca_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", "--port", "0", "--tls-dir", "certs"])
    server = serve.build_server(args)
    server.start()
    try:
        lines = serve._stdout_lines(server)
    finally:
        server.stop()
    url_ca = lines[0].split("tlsCAFile=", 1)[1]
    printed_ca = lines[1].removeprefix("ca-file: ")
    for path in (url_ca, printed_ca):
        assert os.path.isabs(path), lines
        assert Path(path) == tmp_path / "certs" / "ca.pem"
        assert Path(path).is_file()


def _event(kind: str = "Happened") -> NewEvent:
    return NewEvent(type=kind, data=b"{}")


def test_plumberd_serve_run_projections_none_turns_them_off() -> None:
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    default = serve.build_server(parser.parse_args(["serve", "--port", "0"]))
    off = serve.build_server(parser.parse_args(["serve", "--run-projections", "none"]))

    assert default.database.system_projections is True
    assert off.database.system_projections is False
