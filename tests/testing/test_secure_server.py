"""TLS and users on the in-process server, driven through the real kurrentdbclient.

What a client sees is what a KurrentDB node with default settings answers: a wrong password or an
unknown user is ``UNAUTHENTICATED`` ("Unauthenticated", ``UnauthenticatedError``) on every call,
gossip included; a call without credentials is anonymous and may read gossip only; a user who may
not do something gets ``PERMISSION_DENIED`` ("Access Denied", ``AccessDeniedError``). Certificate
problems surface as ``SSLError`` (unknown CA) or ``ServiceUnavailableError`` naming the failed
hostname verification.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, NewEvents, StreamState
from kurrentdbclient.exceptions import (
    AccessDeniedError,
    KurrentDBClientError,
    ServiceUnavailableError,
    SSLError,
    UnauthenticatedError,
)
from kurrentdbclient.protos.v1 import gossip_pb2_grpc, shared_pb2, streams_pb2, streams_pb2_grpc

from plumberd_logging.testing import AccessControl, InMemoryEventStore, TlsFiles

from .eventstore_helpers import event, ids

pytestmark = pytest.mark.inprocess_only

NS = StreamState.NO_STREAM
USERS = {"admin": "changeit", "writer": "w-secret", "reader": "r-secret"}


@pytest.fixture(scope="module")
def tls() -> TlsFiles:
    """One CA and server certificate for the module (generating one takes some 20 ms)."""
    return TlsFiles.generate()


@pytest.fixture
def secure(tls: TlsFiles) -> Iterator[InMemoryEventStore]:
    with InMemoryEventStore(tls=tls, users=USERS, writers={"admin", "writer"}) as store:
        yield store


def test_a_secure_server_serves_appends_and_reads(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(secure.url)
    sent = [event(n=1), event(n=2)]

    client.append_to_stream(stream, current_version=NS, events=sent[:1])
    client.append_to_stream(stream, current_version=0, events=sent[1])

    assert ids(client.get_stream(stream)) == ids(sent)
    assert client.get_commit_position() == secure.events(stream)[-1].commit_position
    assert secure.url == (
        f"esdb://admin:changeit@127.0.0.1:{secure.port}?tls=true&tlsCAFile={secure.ca_file}"
    )
    assert secure.discover_url.startswith("esdb+discover://admin:changeit@127.0.0.1:")


def test_discovery_and_subscriptions_over_tls(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(secure.discover_url)
    sent = event()
    client.append_to_stream(stream, current_version=NS, events=[sent])

    with client.subscribe_to_stream(stream, timeout=10) as subscription:
        assert next(subscription).id == sent.id


def test_tls_without_users_has_the_default_admin() -> None:
    with InMemoryEventStore(tls=True) as store:
        assert store.access is not None
        assert dict(store.access.users) == {"admin": "changeit"}
        assert store.url.startswith("esdb://admin:changeit@")
        client = KurrentDBClient(store.url)
        try:
            client.append_to_stream("s", current_version=NS, events=[event()])
        finally:
            client.close()


@pytest.mark.parametrize(
    ("user", "password"), [("admin", "wrong"), ("nobody", "changeit")], ids=["password", "user"]
)
def test_wrong_credentials_are_unauthenticated_on_every_call(
    secure: InMemoryEventStore,
    client_for: Callable[[str], KurrentDBClient],
    stream: str,
    user: str,
    password: str,
) -> None:
    client = client_for(secure.url_for(user, password))

    with pytest.raises(UnauthenticatedError, match=r"^Unauthenticated$"):
        client.append_to_stream(stream, current_version=NS, events=[event()])
    with pytest.raises(UnauthenticatedError):
        client.append_to_stream(stream, current_version=NS, events=event())
    with pytest.raises(UnauthenticatedError):
        client.get_stream(stream)
    with pytest.raises(UnauthenticatedError):
        client.subscribe_to_stream(stream)
    with pytest.raises(UnauthenticatedError):
        client.read_gossip()
    with pytest.raises(UnauthenticatedError):  # discovery reads gossip in the constructor
        KurrentDBClient(secure.url_for(user, password, discover=True))
    assert secure.events(stream) == []
    assert secure.calls["BatchAppend"] == 1  # not retried: not a transport error


@pytest.mark.parametrize("rpc", ["Append", "BatchAppend"])
def test_a_user_without_write_access_is_denied(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str, rpc: str
) -> None:
    reader = client_for(secure.url_for("reader"))
    events = event() if rpc == "Append" else [event()]  # NewEvent: Append, a list: BatchAppend

    with pytest.raises(AccessDeniedError):
        reader.append_to_stream(stream, current_version=NS, events=events)

    assert secure.events(stream) == []
    assert secure.calls[rpc] == 1


def test_what_a_reader_may_and_may_not_do(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client_for(secure.url_for("writer")).append_to_stream(
        stream, current_version=NS, events=[event()]
    )
    reader = client_for(secure.url_for("reader"))

    assert len(reader.get_stream(stream)) == 1
    assert reader.get_stream_metadata(stream)[1] is NS
    with reader.subscribe_to_stream(stream, timeout=10) as subscription:
        next(subscription)
    for denied in (
        lambda: reader.delete_stream(stream, current_version=0),
        lambda: reader.tombstone_stream(stream, current_version=0),
        lambda: reader.set_stream_metadata(stream, metadata={"$maxCount": 1}),
        reader.get_commit_position,  # reads $all: administrators only, as on KurrentDB
        lambda: list(reader.read_all()),
        reader.subscribe_to_all,
        lambda: list(reader.get_stream("$system-stream")),
    ):
        with pytest.raises(AccessDeniedError, match="Access Denied"):
            denied()
    assert len(secure.events(stream)) == 1


def test_a_writer_may_write_but_not_read_all(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    writer = client_for(secure.url_for("writer"))

    writer.append_to_stream(stream, current_version=NS, events=[event()])
    writer.set_stream_metadata(stream, metadata={"$maxCount": 5})
    assert secure.stream_metadata(stream)["$maxCount"] == 5
    writer.delete_stream(stream, current_version=0)

    assert secure.events(stream) == []
    with pytest.raises(AccessDeniedError):
        writer.get_commit_position()


def test_v2_multi_append_denied_is_a_plain_client_error_in_kurrentdbclient_1_3(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    """KurrentDB answers PERMISSION_DENIED with kurrent.rpc details that 1.3.5 does not map."""
    reader = client_for(secure.url_for("reader"))

    with pytest.raises(KurrentDBClientError) as raised:
        reader.multi_append_to_stream([NewEvents(stream, [event()], NS)])

    assert type(raised.value) is KurrentDBClientError
    assert str(raised.value) == (
        f"Access denied. Insufficient permissions to perform streams:write:{stream.lower()}"
    )
    client_for(secure.url).multi_append_to_stream([NewEvents(stream, [event()], NS)])
    assert len(secure.events(stream)) == 1


def _raw_channel(store: InMemoryEventStore) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(store.ca_file).read_bytes())
    return grpc.secure_channel(f"127.0.0.1:{store.port}", credentials)


def _read_request(stream: str) -> streams_pb2.ReadReq:
    options = streams_pb2.ReadReq.Options(
        stream=streams_pb2.ReadReq.Options.StreamOptions(
            stream_identifier=shared_pb2.StreamIdentifier(stream_name=stream.encode()),
            start=shared_pb2.Empty(),
        ),
        count=10,
        no_filter=shared_pb2.Empty(),
        uuid_option=streams_pb2.ReadReq.Options.UUIDOption(string=shared_pb2.Empty()),
    )
    return streams_pb2.ReadReq(options=options)


def test_anonymous_calls_may_read_gossip_only(secure: InMemoryEventStore, stream: str) -> None:
    """kurrentdbclient always sends credentials over TLS; a raw stub shows the anonymous case."""
    with _raw_channel(secure) as channel:
        members = gossip_pb2_grpc.GossipStub(channel).Read(shared_pb2.Empty(), timeout=5)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.RpcError) as raised:
            list(streams_pb2_grpc.StreamsStub(channel).Read(_read_request(stream), timeout=5))  # type: ignore[no-untyped-call]
        token = base64.b64encode(b"admin:changeit").decode()
        authorised = list(
            streams_pb2_grpc.StreamsStub(channel).Read(  # type: ignore[no-untyped-call]
                _read_request(stream), timeout=5, metadata=(("authorization", f"Basic {token}"),)
            )
        )

    assert len(members.members) == 1
    error: grpc.Call = raised.value  # type: ignore[assignment]  # grpc's errors are Calls too
    assert (error.code(), error.details()) == (grpc.StatusCode.PERMISSION_DENIED, "Access Denied")
    assert ("exception", "access-denied") in tuple(error.trailing_metadata() or ())
    assert authorised[0].WhichOneof("content") == "stream_not_found"


def test_an_unknown_ca_is_an_ssl_error(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    other_ca = TlsFiles.generate()

    client = client_for(secure.url_for(ca_file=other_ca.ca_file))

    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get_stream(stream, timeout=5)


def test_a_certificate_for_another_host_fails_hostname_verification(
    tls: TlsFiles, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    wrong_host = tls.issue(hosts=["wrong.example"])

    with InMemoryEventStore(tls=wrong_host) as store:
        client = client_for(store.url)  # trusts the CA that signed the certificate
        with pytest.raises(ServiceUnavailableError, match="Hostname Verification") as raised:
            client.get_stream(stream, timeout=5)

    assert not isinstance(raised.value, SSLError)
    assert wrong_host.hosts == ("wrong.example",)
    assert wrong_host.ca_file.read_bytes() == tls.ca_file.read_bytes()


def test_a_client_without_tls_cannot_talk_to_a_tls_server(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    client = client_for(f"esdb://127.0.0.1:{secure.port}?tls=false")

    with pytest.raises(ServiceUnavailableError):
        client.get_stream(stream, timeout=5)


def test_a_tls_client_cannot_talk_to_a_server_without_tls(
    eventstore: InMemoryEventStore,
    tls: TlsFiles,
    client_for: Callable[[str], KurrentDBClient],
    stream: str,
) -> None:
    url = f"esdb://admin:changeit@127.0.0.1:{eventstore.port}?tls=true&tlsCAFile={tls.ca_file}"

    with pytest.raises(SSLError):
        client_for(url).get_stream(stream, timeout=5)


def test_users_need_tls_and_valid_names() -> None:
    with pytest.raises(ValueError, match="tls=True"):
        InMemoryEventStore(users={"admin": "changeit"})
    with pytest.raises(ValueError, match="unknown: ghost"):
        InMemoryEventStore(tls=True, users={"admin": "changeit"}, writers={"ghost"})
    with pytest.raises(ValueError, match="needs a password"):
        AccessControl.create({"admin": ""})
    with pytest.raises(TypeError, match="collections"):
        AccessControl.create({"admin": "x"}, writers="admin")
    with InMemoryEventStore() as plain:
        with pytest.raises(RuntimeError, match="tls=True"):
            _ = plain.ca_file
        with pytest.raises(ValueError, match="TLS"):
            plain.url_for("admin")
    store = InMemoryEventStore(2113, tls=True, users={"odd": "p@ss"})  # not started
    with pytest.raises(ValueError, match="cannot contain"):
        _ = store.url_for("odd")


def test_passwords_stay_out_of_reprs(secure: InMemoryEventStore) -> None:
    assert secure.access is not None
    shown = repr(secure) + repr(secure.access) + repr(secure.tls)
    for password in USERS.values():
        assert password not in shown


def test_access_rules() -> None:
    access = AccessControl.create(USERS, writers={"writer"})

    assert access.admins == {"admin"}
    assert access.authenticate(None) is None
    assert access.authenticate("Bearer not-base64!") is None  # not basic auth: anonymous
    assert access.authenticate("Basic " + base64.b64encode(b"reader:r-secret").decode()) == "reader"
    cases = {
        ("admin", "write", "$all-or-system"): True,
        ("writer", "write", "orders"): True,
        ("writer", "write", "$$orders"): True,
        ("writer", "delete", "orders"): True,
        ("reader", "write", "orders"): False,
        ("reader", "read", "orders"): True,
        ("reader", "read", "$$orders"): True,
        ("reader", "read", "$all"): False,
        ("reader", "read", "$$$streams"): False,
        ("writer", "write", "$settings"): False,
        (None, "read", "orders"): False,
    }
    got = {case: access.allows(*case) for case in cases}  # type: ignore[arg-type]
    assert got == cases


def test_tls_files_load_issue_and_cleanup(tmp_path: Path) -> None:
    made = TlsFiles.generate(tmp_path / "tls", hosts=["localhost"])
    loaded = TlsFiles.load(tmp_path / "tls")

    assert loaded == made
    assert loaded.hosts == ("localhost",)
    assert TlsFiles.load_or_generate(tmp_path / "tls") == made
    assert oct(made.key_file.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(FileNotFoundError, match="missing"):
        TlsFiles.load(tmp_path / "empty")
    with pytest.raises(ValueError, match="at least one"):
        TlsFiles.generate(hosts=[])

    temporary = TlsFiles.generate()
    directory = temporary.directory
    del temporary
    assert not directory.exists()  # removed with the object that owned it


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_certificates_made_with_the_openssl_command_work(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    tls = TlsFiles.generate(_backend="openssl")
    wrong_host = tls.issue(hosts=["wrong.example"], _backend="openssl")

    with InMemoryEventStore(tls=tls) as store:
        client_for(store.url).append_to_stream(stream, current_version=NS, events=[event()])
    with (
        InMemoryEventStore(tls=wrong_host) as store,
        pytest.raises(ServiceUnavailableError, match="Hostname Verification"),
    ):
        client_for(store.url).get_stream(stream, timeout=5)


def test_new_event_content_is_unaffected_by_tls(
    secure: InMemoryEventStore, client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    sent = NewEvent(type="Blob", data=b"\x00\x01", content_type="application/octet-stream")

    client_for(secure.url).append_to_stream(stream, current_version=NS, events=[sent])

    [stored] = secure.events(stream)
    assert (stored.data, stored.content_type) == (b"\x00\x01", "application/octet-stream")
