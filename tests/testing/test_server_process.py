"""``python -m plumberd_logging.testing`` and :class:`ServerProcess`: the server in a child."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
from kurrentdbclient import KurrentDBClient, StreamState
from kurrentdbclient.exceptions import ServiceUnavailableError

from plumberd_logging.testing import InMemoryEventStore, ServerProcess

from .eventstore_helpers import event, ids

pytestmark = pytest.mark.inprocess_only


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
        assert client.get_current_version(stream) is StreamState.NO_STREAM

        assert server.stop() == 0  # SIGTERM: a clean shutdown
    assert not server.is_running


def test_server_process_reports_why_it_could_not_start() -> None:
    with InMemoryEventStore() as busy:
        server = ServerProcess(port=busy.port, startup_timeout=30)
        with pytest.raises(RuntimeError, match="cannot listen"):
            server.start()
        assert not server.is_running
