"""Fixtures for the tests of plumberd_logging.testing.

The contract tests use the plugin's ``eventstore_url`` / ``eventstore_client``, so they run
unchanged against a real server (``PLUMBERD_TEST_URL=esdb://...``); every test uses stream names
of its own, so they can share a real server with other data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState

from plumberd_logging.testing.pytest_plugin import real_server_url

from .eventstore_helpers import AppendFn

__all__: list[str] = []


@pytest.fixture
def stream(request: pytest.FixtureRequest) -> str:
    """A stream name no other test (or earlier run against a real server) uses."""
    return f"{_slug(request.node.name)}-{uuid4().hex[:12]}"


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A unique stream-name prefix, for ``$all`` reads filtered to this test's streams."""
    return f"p{uuid4().hex[:12]}-{_slug(request.node.name)[:20]}"


@pytest.fixture
def is_real_server(request: pytest.FixtureRequest) -> bool:
    """True when this run targets a real server (``PLUMBERD_TEST_URL`` / ``--plumberd-url``)."""
    return real_server_url(request.config) is not None


@pytest.fixture
def client_for() -> Iterator[Callable[[str], KurrentDBClient]]:
    """Make extra clients (for other URLs); all are closed after the test."""
    clients: list[KurrentDBClient] = []

    def make(url: str) -> KurrentDBClient:
        client = KurrentDBClient(url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


class _AppendViaAppendRpc:
    """``events=NewEvent`` goes through the client-streaming ``Streams.Append`` RPC."""

    rpc = "Append"

    def __call__(
        self,
        client: KurrentDBClient,
        stream: str,
        events: list[NewEvent],
        version: int | StreamState,
    ) -> int:
        if len(events) == 1:
            return client.append_to_stream(stream, current_version=version, events=events[0])
        # The public API sends one event per Append call; the client's streams service can
        # send several (this is what kurrentdbclient does internally).
        return client.streams.append(stream, version, events)


class _AppendViaBatchAppendRpc:
    """``events=[...]`` (any iterable, even of one event) goes through ``Streams.BatchAppend``."""

    rpc = "BatchAppend"

    def __call__(
        self,
        client: KurrentDBClient,
        stream: str,
        events: list[NewEvent],
        version: int | StreamState,
    ) -> int:
        return client.append_to_stream(stream, current_version=version, events=events)


@pytest.fixture(params=["Append", "BatchAppend"])
def append(request: pytest.FixtureRequest) -> AppendFn:
    """Append through each of the two append RPCs in turn."""
    if request.param == "Append":
        return _AppendViaAppendRpc()
    return _AppendViaBatchAppendRpc()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:40]
