"""``python -m plumberd_logging.testing`` and :class:`ServerProcess`: the server in a child."""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from kurrentdbclient import KurrentDBClient, NewEvents, StreamState
from kurrentdbclient.exceptions import (
    AccessDeniedError,
    NodeIsNotLeaderError,
    ServiceUnavailableError,
)

from plumberd_logging.testing import InMemoryEventStore, ServerProcess
from plumberd_logging.testing.__main__ import main, parse_users

from .eventstore_helpers import event, ids

pytestmark = pytest.mark.inprocess_only

_T = TypeVar("_T")


def _eventually(call: Callable[[], _T], timeout: float = 5.0) -> _T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ServiceUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_server_process_serves_crashes_and_restarts_on_the_same_port(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    with ServerProcess() as server:
        assert server.is_running
        assert server.url == f"esdb://127.0.0.1:{server.port}?tls=false"
        client = client_for(server.url)
        sent = event()
        client.append_to_stream(stream, current_version=StreamState.NO_STREAM, events=[sent])
        assert ids(client.get_stream(stream)) == [sent.id]

        assert server.kill() == -signal.SIGKILL
        with pytest.raises(ServiceUnavailableError):
            client.get_stream(stream)

        port = server.port
        server.start()  # same port, fresh (empty) database
        assert server.port == port
        # grpc may still be backing off from the refused connection: allow it a moment.
        assert _eventually(lambda: client.get_current_version(stream)) is StreamState.NO_STREAM

        assert server.stop() == 0  # SIGTERM: a clean shutdown
    assert not server.is_running


def test_server_process_reports_why_it_could_not_start() -> None:
    with InMemoryEventStore() as busy:
        server = ServerProcess(port=busy.port, startup_timeout=30)
        with pytest.raises(RuntimeError, match="cannot listen"):
            server.start()
        assert not server.is_running


def test_a_secure_server_process_with_users(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    users = {"admin": "changeit", "reader": "pw"}
    with ServerProcess(users=users, writers=["admin"]) as server:
        assert server.tls is not None
        assert server.url == (
            f"esdb://admin:changeit@127.0.0.1:{server.port}?tls=true&tlsCAFile={server.ca_file}"
        )
        client_for(server.url).append_to_stream(
            stream, current_version=StreamState.NO_STREAM, events=[event()]
        )
        reader_url = server.url.replace("admin:changeit", "reader:pw")
        with pytest.raises(AccessDeniedError):
            client_for(reader_url).append_to_stream(stream, current_version=0, events=[event()])
        ca = server.ca_file
        server.restart()  # the same certificates: clients keep trusting it
        assert server.ca_file == ca
        assert _eventually(lambda: client_for(server.url).get_current_version(stream)) is (
            StreamState.NO_STREAM
        )


def test_a_cluster_server_process(
    client_for: Callable[[str], KurrentDBClient], stream: str
) -> None:
    with ServerProcess(cluster=3) as server:
        assert len(server.node_urls) == 3
        assert server.url.count(",") == 2
        client = client_for(server.url)
        client.multi_append_to_stream([NewEvents(stream, [event()], StreamState.NO_STREAM)])
        with pytest.raises(NodeIsNotLeaderError):
            client_for(server.node_urls[1]).append_to_stream(
                stream, current_version=0, events=[event()]
            )
        ports = [int(url.rsplit(":", 1)[1].split("?")[0]) for url in server.node_urls]
        server.restart()  # the same ports again
        assert [int(u.rsplit(":", 1)[1].split("?")[0]) for u in server.node_urls] == ports


def test_command_line_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_users("admin:changeit, reader:p:w") == {"admin": "changeit", "reader": "p:w"}
    for bad in ("admin", "admin:", ":pw", ","):
        with pytest.raises(argparse.ArgumentTypeError, match="USER:PASSWORD"):
            parse_users(bad)
    with pytest.raises(SystemExit):
        main(["--users", "nobody"])
    assert "USER:PASSWORD" in capsys.readouterr().err
