"""The writer with TLS, users and cluster nodes: what is permanent, what is retried, and what
the user is told.

Refused credentials and missing rights are dead-lettered at once (reasons ``unauthenticated``
and ``access_denied``), every event of the append, with no endless retry and no batch split.
A TLS failure is retried like an outage (events kept), with a stderr line naming the cause;
the writer's connection is rebuilt after it, so a corrected CA file takes effect. A follower
named directly is retried with a hint, until it leads.
"""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from plumberd_logging import (
    AccessDenied,
    Event,
    EventWriter,
    Receipt,
    TlsError,
    Unauthenticated,
)
from plumberd_logging.testing import InMemoryCluster, InMemoryEventStore, TlsFiles

from .conftest import PASSWORD

pytestmark = pytest.mark.inprocess_only


class Ping(Event):
    n: int


def streams(n: int) -> list[str]:
    prefix = uuid4().hex[:8]
    return [f"Ping-{prefix}{i}" for i in range(n)]


@pytest.mark.parametrize(
    ("user", "password", "reason", "error"),
    [
        ("admin", "wrong-pw", "unauthenticated", Unauthenticated),
        ("reader", None, "access_denied", AccessDenied),
    ],
)
def test_refusals_are_dead_lettered_at_once_with_their_reason(
    secure: InMemoryEventStore,
    capsys: pytest.CaptureFixture[str],
    user: str,
    password: str | None,
    reason: str,
    error: type[Exception],
) -> None:
    failed: list[tuple[Receipt, BaseException]] = []
    names = streams(3)  # several streams: the multi-stream (v2) path first, then per stream
    with EventWriter(  # a long linger: one chunk at flush(), however slowly the submits run
        secure.url_for(user, password), linger=30, on_failed=lambda r, e: failed.append((r, e))
    ) as writer:
        receipts = [writer.submit(names[i % 3], Ping(n=i)) for i in range(300)]
        assert writer.flush(10)
        stats = writer.stats()

    assert stats.dead_lettered == {reason: 300}
    assert stats.sent == stats.retries == 0
    assert len(failed) == 300
    assert all(type(r.exception(0)) is error for r in receipts)
    assert secure.all_events() == []
    # no batch split to find a culprit: one refused call per stream (plus the v2 attempt)
    assert secure.calls["BatchAppend"] <= 3
    err = capsys.readouterr().err
    assert f"event not written ({reason})" in err
    assert f"user {user!r}" in err
    assert PASSWORD not in err
    assert stats.last_error is not None
    assert f"user {user!r}" in stats.last_error


def test_tls_failures_are_retried_loudly_and_a_fixed_ca_file_is_read_again(
    secure: InMemoryEventStore,
    other_ca: TlsFiles,
    tls: TlsFiles,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(other_ca.read_ca())  # the wrong CA, e.g. before a certificate rotation
    [name] = streams(1)
    with EventWriter(secure.url_for(ca_file=ca), append_timeout=2) as writer:
        receipt = writer.submit(name, Ping(n=1))
        assert not writer.flush(1)  # kept, not dead-lettered
        stats = writer.stats()
        assert stats.dead_lettered == {}
        assert stats.retries >= 1
        assert stats.last_error is not None
        assert stats.last_error.startswith("TlsError: TLS: the certificate of 127.0.0.1:")
        err = capsys.readouterr().err
        assert "cannot connect securely; events are kept and retried: TLS:" in err
        assert "not trusted (unable to get local issuer certificate)" in err
        assert f"tlsCAFile={ca}" in err

        ca.write_bytes(tls.read_ca())  # fixed on disk: the next attempt reads it again
        assert writer.flush(15)

    assert receipt.result(0) > 0
    assert len(secure.events(name)) == 1


def test_a_wrong_host_certificate_is_named_in_the_retry_line(
    wrong_host_server: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = EventWriter(wrong_host_server.url, append_timeout=2)
    try:
        writer.submit(streams(1)[0], Ping(n=1))
        assert not writer.flush(0.5)
        assert isinstance(writer.stats().last_error, str)
    finally:
        writer.close(0.2)
    err = capsys.readouterr().err
    assert "is not valid for the host name in the URL (hostname verification failed)" in err
    assert PASSWORD not in err


def test_a_follower_named_directly_is_retried_with_a_hint_until_it_leads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [name] = streams(1)
    with InMemoryCluster(3) as cluster, EventWriter(cluster.nodes[1].url) as writer:
        writer.submit(name, Ping(n=1))
        assert not writer.flush(0.5)
        err = capsys.readouterr().err
        assert "append refused, retrying with the same ids: not the leader:" in err
        assert f"the leader is 127.0.0.1:{cluster.nodes[0].port}" in err
        assert "use esdb+discover://HOST or list every node" in err
        assert writer.stats().dead_lettered == {}

        cluster.elect(1)
        assert writer.flush(10)
        assert len(cluster.events(name)) == 1


def test_tls_error_is_transient_and_access_denied_is_not() -> None:
    from plumberd_logging import TransientError, Unavailable

    assert issubclass(TlsError, Unavailable)
    assert issubclass(TlsError, TransientError)
    assert not issubclass(AccessDenied, TransientError)
    assert issubclass(Unauthenticated, AccessDenied)
