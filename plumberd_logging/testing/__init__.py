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

Secure and clustered, as production runs (see :class:`InMemoryEventStore` and
:class:`InMemoryCluster`)::

    InMemoryEventStore(tls=True, users={"admin": "changeit", "reader": "pw"}, writers={"admin"})
    InMemoryCluster(3)            # one store, three nodes; .elect(i), .stop_node(i), .url

With pytest the ``eventstore``, ``eventstore_url`` and ``eventstore_client`` fixtures come from
the plugin :mod:`plumberd_logging.testing.pytest_plugin`, registered automatically.
``python -m plumberd_logging.testing --port 2113`` serves the same server as a process (with
``--tls``, ``--users``, ``--writers``, ``--cluster N``); :class:`ServerProcess` runs it from Python.

What it serves: ``Streams.Append`` and ``Streams.BatchAppend`` (expected versions, idempotent and
"corrupted" retries, the 1 MiB ``max_append_size``), ``Streams.Read`` (streams and ``$all``, both
directions, positions, counts, regex and prefix filters on stream name or event type, and
catch-up subscriptions to a stream or ``$all``: confirmation, history, caught-up, live events,
checkpoints of filtered ``$all`` subscriptions), ``Streams.Delete`` (soft) and
``Streams.Tombstone``, stream metadata (``$$stream``), ``Gossip.Read`` (for ``esdb+discover://``
and host lists), the v2 ``StreamsService.AppendSession`` behind ``multi_append_to_stream``
(atomic across streams, rich error details), ``ServerFeatures.GetSupportedMethods`` (KurrentDB
25.1.0 and exactly these methods, so the .NET and Node.js clients pick BatchAppend and the
multi-stream append) and ``PersistentSubscriptions.List`` (there are none). Link events (``$>``)
are resolved when asked (``resolve_links``), and KurrentDB's standard system projections run in
memory: ``$by_event_type`` (``$et-{type}``) and ``$by_category`` (``$ce-{category}``, the stream
name before its first ``-``) as link events, on by default (``system_projections=False``, or
``plumberd serve --run-projections none``, turns them off). The server accepts client keepalive
pings at any rate (the official clients ping every 10 s, also while idle).
Optionally TLS (certificates made for the run, :class:`TlsFiles`), users with KurrentDB's answers
for wrong credentials (``UNAUTHENTICATED``) and missing rights (``PERMISSION_DENIED``), and a
cluster whose followers answer "not leader" with the leader's endpoint (v1: ``NOT_FOUND`` "Leader
info available" with ``leader-endpoint-*`` trailers; v2: ``FAILED_PRECONDITION`` with
``NotLeaderNodeErrorDetails``).

Known differences from a real server (deliberate, for a test double):

* ``$all`` begins with one server-written system record (the ``$metadata`` of ``$scavenges``; a
  real node writes several, and ``$epoch-information`` and the like); the ``$metadata`` and
  ``$streamDeleted`` records of your streams appear too. All are hidden by the client's default
  filter, as on a real server. Do not count events from the start of an unfiltered ``$all``.
  :meth:`InMemoryEventStore.all_events` and ``streams()`` leave system records out by default.
* The ``$et-``/``$ce-`` link events are written when ``$all`` or a projection stream is next
  read after the events (a real node's projections write them within milliseconds); either way
  they follow their events in ``$all``. Links to deleted events stay (resolving them yields
  nothing, as on a real node).
* Positions are synthetic: increasing, offset-like, commit position = prepare position.
  ``read_all`` from a position that is no record's start is not rejected.
* The recent-event-ids cache behind ``StreamState.ANY``/``EXISTS`` idempotency is unbounded (a
  real node keeps about 8 MiB worth); like a real node, :meth:`InMemoryEventStore.restart`
  clears it. Explicit expected versions are idempotent against the stored events, as on a server.
* Of the stream metadata only ``$tb`` (truncate before, soft delete) is enforced; ``$maxCount``,
  ``$maxAge`` and ``$acl`` are stored, not applied. No scavenging: deleted events stay in ``$all``.
* Without TLS there is no authentication (like KurrentDB's ``--insecure``). With TLS, access
  follows KurrentDB's *default* ACLs only (users read user streams, ``writers`` write them,
  ``admins`` do anything, ``$all`` and system streams are for admins, anonymous calls may read
  gossip only); ``$acl`` stream metadata, ``$ops``/other roles, client certificates and OAuth
  are not supported, and the v1 ``Users`` service is not served.
* A cluster shares one store: no replication lag, elections are instant and happen only through
  :meth:`InMemoryCluster.elect` or by stopping the leader; no read-only replicas; every node
  knows the truth (stopped nodes show as ``Shutdown``, not alive). A single node always leads.
* Subscriptions never fall behind (so never send ``fell_behind``, as KurrentDB does not either);
  a stream subscription ends with "is deleted" when its stream is tombstoned, without first
  sending the ``$streamDeleted`` event a real node sends; a subscription's checkpoint positions
  differ in detail (they are positions of records considered, never behind the events sent).
* Not served (``UNIMPLEMENTED``): persistent subscriptions (except an empty ``List``), the
  projection-management RPCs (the two system projections above run, but cannot be listed,
  stopped or queried; no user projections), operations, users, and ``AppendRecords``
  (KurrentDB >= 26.1).
* Not enforced: the per-event ``MaxAppendEventSize``, BatchAppend's ``deadline`` option.
* v2 appends store their string properties as compact JSON metadata; their errors carry the
  typed detail, and a ``google.rpc.ErrorInfo`` only for "not leader", "access denied" and "not
  ready". Error texts match KurrentDB where the client parses them; others may differ.

Faithful on purpose, though surprising: the ``Append`` RPC (``events=NewEvent``) answers an
oversized append with ``INVALID_ARGUMENT``, which kurrentdbclient raises as a plain ``GrpcError``
(after one retry); only ``BatchAppend`` (``events=[...]``) gives
``MaximumAppendSizeExceededError``. Content types read back as ``application/json`` or
``application/octet-stream``, whatever else was sent. A user without write access gets
``AccessDeniedError`` from ``append_to_stream``, but a plain ``KurrentDBClientError`` from
``multi_append_to_stream`` (kurrentdbclient 1.3.5 does not map the v2 error), and so do v2 "not
ready" answers; reading ``$all`` (also ``get_commit_position``) needs an administrator.
kurrentdbclient 1.3.5 with grpcio 1.85 can hang past its deadline in a ``BatchAppend`` that is in
flight when the server stops without grace (about 1 stop in 20 under a tight append loop).
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
