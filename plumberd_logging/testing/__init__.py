"""Test your code against an in-process, protocol-faithful EventStoreDB/KurrentDB.

:class:`InMemoryEventStore` is a real gRPC server on ``127.0.0.1`` speaking KurrentDB's protocol,
so the unmodified ``kurrentdbclient`` (and everything built on it) talks to it as to a real
server; it also injects faults a real server cannot easily produce, and lets tests look inside::

    from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
    from plumberd_logging.testing import InMemoryEventStore

    with InMemoryEventStore() as store:
        store.faults.fail("BatchAppend", "UNAVAILABLE", after_commit=True)  # written, then fails
        client = KurrentDBClient(store.url)
        try:
            client.append_to_stream("order-1", current_version=StreamState.NO_STREAM,
                                    events=[NewEvent(type="OrderPlaced", data=b'{"Id": 1}')])
        finally:
            client.close()
        [event] = store.wait_for_events("order-1", 1)      # the client's retry was idempotent
        assert event.json() == {"Id": 1}
        assert store.calls["BatchAppend"] == 2

With pytest the ``eventstore``, ``eventstore_url`` and ``eventstore_client`` fixtures come from
the plugin :mod:`plumberd_logging.testing.pytest_plugin`, registered automatically.
``python -m plumberd_logging.testing --port 2113`` serves the same server as a process
(:class:`ServerProcess` runs it from Python).

What it serves: ``Streams.Append`` and ``Streams.BatchAppend`` (expected versions, idempotent and
"corrupted" retries, the 1 MiB ``max_append_size``), ``Streams.Read`` (streams and ``$all``, both
directions, positions, counts, regex and prefix filters on stream name or event type),
``Streams.Delete`` (soft) and ``Streams.Tombstone``, stream metadata (``$$stream``), single-node
``Gossip.Read`` (for ``esdb+discover://``), and the v2 ``StreamsService.AppendSession`` behind
``multi_append_to_stream`` (atomic across streams, rich error details).

Known differences from a real server (deliberate, for a test double):

* ``$all`` has no server bookkeeping records (a real one starts with ``$epoch-information`` and
  the like); the server-written ``$metadata`` and ``$streamDeleted`` records do appear, hidden by
  the client's default filter as on a real server. Do not count events from the start of an
  unfiltered ``$all``.
* Positions are synthetic: increasing, offset-like, commit position = prepare position.
  ``read_all`` from a position that is no record's start is not rejected.
* The recent-event-ids cache behind ``StreamState.ANY``/``EXISTS`` idempotency is unbounded (a
  real node keeps about 8 MiB worth); like a real node, :meth:`InMemoryEventStore.restart`
  clears it. Explicit expected versions are idempotent against the stored events, as on a server.
* Of the stream metadata only ``$tb`` (truncate before, soft delete) is enforced; ``$maxCount``,
  ``$maxAge`` and ``$acl`` are stored, not applied. No scavenging: deleted events stay in ``$all``.
* No TLS, users, ACLs or authentication; single node, always leader (``requires-leader`` is
  ignored, ``NodeIsNotLeader`` never happens).
* Not served (``UNIMPLEMENTED``): catch-up subscriptions, persistent subscriptions, projections,
  operations, users, ``ServerFeatures`` and ``AppendRecords`` (KurrentDB >= 26.1).
  ``resolve_links`` is ignored (no link events, no ``$et-``/``$ce-`` projections).
* Not enforced: the per-event ``MaxAppendEventSize``, BatchAppend's ``deadline`` option.
* v2 appends store their string properties as compact JSON metadata; their errors carry the
  typed detail but no ``google.rpc.ErrorInfo``. Error texts match KurrentDB where the client
  parses them; others may differ.

Faithful on purpose, though surprising: the ``Append`` RPC (``events=NewEvent``) answers an
oversized append with ``INVALID_ARGUMENT``, which kurrentdbclient raises as a plain ``GrpcError``
(after one retry); only ``BatchAppend`` (``events=[...]``) gives
``MaximumAppendSizeExceededError``. Content types read back as ``application/json`` or
``application/octet-stream``, whatever else was sent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plumberd_logging.testing._auth import DEFAULT_USERS, AccessControl
    from plumberd_logging.testing._cluster import InMemoryCluster
    from plumberd_logging.testing._database import (
        ANY,
        DELETED_STREAM,
        NO_STREAM,
        STREAM_EXISTS,
        AppendResult,
        Database,
        EventFilter,
        MultiAppendResult,
        ProposedEvent,
        StoredEvent,
        StoreError,
        StreamDeleted,
        StreamNotFound,
        WrongExpectedVersion,
    )
    from plumberd_logging.testing._faults import RPC_NAMES, CallCounter, Fault, Faults
    from plumberd_logging.testing._process import ServerProcess
    from plumberd_logging.testing._runtime import DEFAULT_MAX_APPEND_SIZE
    from plumberd_logging.testing._server import InMemoryEventStore
    from plumberd_logging.testing._tls import DEFAULT_TLS_HOSTS, TlsFiles

__all__ = [
    "ANY",
    "DEFAULT_MAX_APPEND_SIZE",
    "DEFAULT_TLS_HOSTS",
    "DEFAULT_USERS",
    "DELETED_STREAM",
    "NO_STREAM",
    "RPC_NAMES",
    "STREAM_EXISTS",
    "AccessControl",
    "AppendResult",
    "CallCounter",
    "Database",
    "EventFilter",
    "Fault",
    "Faults",
    "InMemoryCluster",
    "InMemoryEventStore",
    "MultiAppendResult",
    "ProposedEvent",
    "ServerProcess",
    "StoreError",
    "StoredEvent",
    "StreamDeleted",
    "StreamNotFound",
    "TlsFiles",
    "WrongExpectedVersion",
]

# Loaded on first use, so that importing this package (and the pytest plugin, which loads in
# every pytest run) costs next to nothing.
_EXPORTS = {
    "DEFAULT_USERS": "_auth",
    "AccessControl": "_auth",
    "InMemoryCluster": "_cluster",
    "ANY": "_database",
    "DELETED_STREAM": "_database",
    "NO_STREAM": "_database",
    "STREAM_EXISTS": "_database",
    "AppendResult": "_database",
    "Database": "_database",
    "EventFilter": "_database",
    "MultiAppendResult": "_database",
    "ProposedEvent": "_database",
    "StoreError": "_database",
    "StoredEvent": "_database",
    "StreamDeleted": "_database",
    "StreamNotFound": "_database",
    "WrongExpectedVersion": "_database",
    "RPC_NAMES": "_faults",
    "CallCounter": "_faults",
    "Fault": "_faults",
    "Faults": "_faults",
    "ServerProcess": "_process",
    "DEFAULT_MAX_APPEND_SIZE": "_runtime",
    "InMemoryEventStore": "_server",
    "DEFAULT_TLS_HOSTS": "_tls",
    "TlsFiles": "_tls",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
