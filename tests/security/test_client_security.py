"""EventStoreClient with TLS, users and cluster nodes: each refusal is one clear exception.

``Unauthenticated`` (a subclass of ``AccessDenied``) and ``AccessDenied`` name the user, never
the password; ``TlsError`` says which TLS check failed and what to change; ``NotLeader`` names
the leader. The v2 multi-stream append, whose refusals kurrentdbclient 1.3 raises as a plain
``KurrentDBClientError``, ends in the same exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from plumberd_logging import (
    ANY,
    AccessDenied,
    Event,
    EventStoreClient,
    NotLeader,
    TlsError,
    Unauthenticated,
    Unavailable,
)
from plumberd_logging.testing import InMemoryCluster, InMemoryEventStore, TlsFiles

from .conftest import PASSWORD

pytestmark = pytest.mark.inprocess_only


class Ping(Event):
    n: int


def stream() -> str:
    return f"Ping-{uuid4().hex[:12]}"


@pytest.fixture
def connect() -> Iterator[type[EventStoreClient]]:
    """``connect(url)``: an EventStoreClient closed after the test."""
    made: list[EventStoreClient] = []

    class Closing(EventStoreClient):
        def __init__(self, url: str) -> None:
            super().__init__(url, default_deadline=5)
            made.append(self)

    yield Closing
    for client in made:
        client.close()


def test_tls_and_credentials_in_the_url_append_read_and_subscribe(
    secure: InMemoryEventStore, connect: type[EventStoreClient]
) -> None:
    client = connect(secure.url)
    name = stream()
    client.append_to_stream(name, [Ping(n=1), Ping(n=2)])

    assert [e.data["N"] for e in client.read_stream(name)] == [1, 2]
    with client.subscribe_stream(name, after=0) as events:
        assert next(events).data["N"] == 2
    assert PASSWORD not in repr(client) + client.url
    assert client.url.startswith("esdb://admin:***@127.0.0.1:")
    reader = connect(secure.url_for("reader"))
    assert len(reader.read_stream(name)) == 2  # readers read


@pytest.mark.parametrize(
    ("user", "password"), [("admin", "wrong-pw"), ("nobody", PASSWORD)], ids=["password", "user"]
)
def test_refused_credentials_are_unauthenticated_naming_the_user(
    secure: InMemoryEventStore, connect: type[EventStoreClient], user: str, password: str
) -> None:
    client = connect(secure.url_for(user, password))

    for call in (
        lambda: client.append_to_stream(stream(), Ping(n=1)),
        lambda: client.read_stream(stream()),
        lambda: client.multi_append_encoded(
            [(stream(), ANY, [client.codec.encode(Ping(n=1))]) for _ in range(2)]
        ),
    ):
        with pytest.raises(Unauthenticated) as raised:
            call()
        assert str(raised.value) == (
            f"authentication failed: the server refused the credentials of user {user!r} "
            "(unknown user or wrong password)"
        )
        assert isinstance(raised.value, AccessDenied)
    assert secure.all_events() == []


def test_a_user_without_write_access_is_denied_on_v1_and_v2_appends(
    secure: InMemoryEventStore, connect: type[EventStoreClient]
) -> None:
    reader = connect(secure.url_for("reader"))
    name = stream()

    with pytest.raises(AccessDenied) as v1:
        reader.append_to_stream(name, Ping(n=1))
    with pytest.raises(AccessDenied) as v2:  # a plain KurrentDBClientError in kurrentdbclient
        reader.multi_append_encoded(
            [(name, ANY, [reader.codec.encode(Ping(n=1))]), (stream(), ANY, [])]
        )
    with pytest.raises(AccessDenied, match="may not set the metadata of"):
        reader.set_stream_metadata(name, {"$maxAge": 60})

    assert not isinstance(v1.value, Unauthenticated)
    assert str(v1.value) == f"access denied: user 'reader' may not write to stream {name!r}"
    assert f"may not write to stream {name!r} (Access denied." in str(v2.value)
    assert secure.all_events() == []


def test_an_unknown_ca_is_a_tls_error_that_names_the_ca_file(
    secure: InMemoryEventStore, other_ca: TlsFiles, connect: type[EventStoreClient]
) -> None:
    client = connect(secure.url_for(ca_file=other_ca.ca_file))

    with pytest.raises(TlsError) as raised:
        client.append_to_stream(stream(), Ping(n=1))

    assert raised.value.reason == "unknown_ca"
    assert isinstance(raised.value, Unavailable)  # transient: a writer keeps the events
    assert f"the CA in tlsCAFile={other_ca.ca_file}" in str(raised.value)
    assert "unable to get local issuer certificate" in str(raised.value)


def test_a_certificate_for_another_host_is_a_tls_error(
    wrong_host_server: InMemoryEventStore, connect: type[EventStoreClient]
) -> None:
    client = connect(wrong_host_server.url)

    with pytest.raises(TlsError, match="not valid for the host name") as raised:
        client.read_stream(stream())

    assert raised.value.reason == "wrong_host"


def test_tls_against_a_server_without_tls(
    eventstore: InMemoryEventStore, tls: TlsFiles, connect: type[EventStoreClient]
) -> None:
    url = f"esdb://admin:{PASSWORD}@127.0.0.1:{eventstore.port}?tls=true&tlsCAFile={tls.ca_file}"

    with pytest.raises(TlsError, match=r"does not answer with TLS.*tls=false") as raised:
        connect(url).read_stream(stream())

    assert raised.value.reason == "handshake"


def test_discovery_through_an_unknown_ca_is_a_tls_error(
    secure: InMemoryEventStore, other_ca: TlsFiles, connect: type[EventStoreClient]
) -> None:
    url = secure.url_for(ca_file=other_ca.ca_file, discover=True) + "&MaxDiscoverAttempts=1"

    with pytest.raises(TlsError) as raised:
        connect(url).read_stream(stream())

    assert raised.value.reason == "unknown_ca"


def test_tls_files_named_in_the_url_are_checked_at_construction(
    secure: InMemoryEventStore, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.pem"
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("not a certificate")

    with pytest.raises(ValueError, match=r"tlsCAFile='.*missing.pem': No such file"):
        EventStoreClient(secure.url_for(ca_file=missing))
    with pytest.raises(ValueError, match="is not a PEM file"):
        EventStoreClient(secure.url_for(ca_file=not_pem))


def test_a_ca_file_removed_after_construction_is_a_tls_error(
    secure: InMemoryEventStore, tls: TlsFiles, tmp_path: Path, connect: type[EventStoreClient]
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls.read_ca())
    client = connect(secure.url_for(ca_file=ca))
    ca.unlink()

    with pytest.raises(TlsError, match="cannot read a certificate file") as raised:
        client.read_stream(stream())

    assert raised.value.reason == "ca_file"


def test_a_follower_named_directly_is_not_leader_and_names_the_leader(
    connect: type[EventStoreClient],
) -> None:
    with InMemoryCluster(3) as cluster:
        follower = connect(cluster.nodes[1].url)
        with pytest.raises(NotLeader) as v1:
            follower.append_to_stream(stream(), Ping(n=1))
        with pytest.raises(NotLeader) as v2:
            follower.multi_append_encoded(
                [(stream(), ANY, [follower.codec.encode(Ping(n=1))]) for _ in range(2)]
            )
        leader = f"127.0.0.1:{cluster.nodes[0].port}"

        assert v1.value.leader == v2.value.leader == leader
        assert "use esdb+discover://HOST or list every node" in str(v1.value)
        connect(cluster.url).append_to_stream(stream(), Ping(n=1))  # a host list follows
        assert len(cluster.all_events()) == 1


def test_no_leader_yet_is_unavailable_on_v2(connect: type[EventStoreClient]) -> None:
    with InMemoryCluster(3) as cluster:
        cluster.stop_node(0, elect=False)
        node = connect(cluster.nodes[1].url)
        with pytest.raises(Unavailable, match="not yet ready"):
            node.multi_append_encoded(
                [(stream(), ANY, [node.codec.encode(Ping(n=1))]) for _ in range(2)]
            )
