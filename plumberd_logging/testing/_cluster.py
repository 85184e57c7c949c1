"""A cluster of in-process nodes over one store: :class:`InMemoryCluster`.

Three (or any number of) :class:`InMemoryEventStore` nodes share one :class:`Database`; one of them
leads. Gossip on every node lists all of them (``http_end_point`` is each node's gRPC address);
followers refuse what needs the leader exactly as KurrentDB does, so kurrentdbclient raises
``NodeIsNotLeaderError`` with the leader's host and port, and in discovery mode reconnects to the
leader by itself::

    with InMemoryCluster(3) as cluster:
        client = KurrentDBClient(cluster.url)      # esdb://127.0.0.1:P0,127.0.0.1:P1,...: gossip
        client.append_to_stream(...)               # written through the leader (node 0)
        cluster.elect(1)                           # node 0 now answers "not leader"
        client.append_to_stream(...)               # the client follows the leader to node 1
        cluster.stop_node(1)                       # refuses connections; node 2 takes over

What is not simulated: replication (every node sees every write at once), elections taking time
(they are instant, and only happen when you call :meth:`elect` or stop the leader), read-only
replicas, and gossip between nodes (every node knows the truth).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import Self

from plumberd_logging.testing._database import ANY, AppendResult, Database, ProposedEvent
from plumberd_logging.testing._runtime import DEFAULT_MAX_APPEND_SIZE, ClusterState
from plumberd_logging.testing._server import InMemoryEventStore, _database, _tls_files, _url

if TYPE_CHECKING:
    from plumberd_logging.testing._auth import AccessControl
    from plumberd_logging.testing._database import StoredEvent
    from plumberd_logging.testing._tls import TlsFiles

__all__ = ["InMemoryCluster"]

_T = TypeVar("_T")


class InMemoryCluster:
    """Several in-process KurrentDB nodes sharing one store, one of them the leader.

    ``nodes[i]`` is an ordinary :class:`InMemoryEventStore` with its own port, ``faults`` and
    ``calls``; ``ports`` fixes the ports (default: free ones). ``tls``, ``users``, ``writers``
    and ``admins`` apply to every node, as on :class:`InMemoryEventStore` (one CA for all).
    """

    def __init__(
        self,
        nodes: int = 3,
        *,
        host: str = "127.0.0.1",
        ports: Sequence[int] | None = None,
        leader: int = 0,
        max_append_size: int = DEFAULT_MAX_APPEND_SIZE,
        database: Database | None = None,
        max_workers: int = 32,
        tls: bool | TlsFiles | str | os.PathLike[str] = False,
        users: Mapping[str, str] | None = None,
        writers: Collection[str] | None = None,
        admins: Collection[str] | None = None,
        system_projections: bool = True,
    ) -> None:
        if ports is not None and len(ports) != nodes:
            msg = f"ports must name one port per node ({nodes}), got {list(ports)}"
            raise ValueError(msg)
        if not 0 <= leader < nodes:
            msg = f"leader must be a node index below {nodes}, got {leader}"
            raise ValueError(msg)
        self.database: Database = _database(database, system_projections)
        """The store every node serves."""
        self.host = host
        self._state = ClusterState(nodes, host)
        self._first_leader = leader
        tls_files = _tls_files(tls)
        self.nodes: tuple[InMemoryEventStore, ...] = tuple(
            InMemoryEventStore(
                ports[i] if ports is not None else 0,
                host=host,
                max_append_size=max_append_size,
                database=self.database,
                max_workers=max_workers,
                tls=tls_files if tls_files is not None else False,
                users=users,
                writers=writers,
                admins=admins,
                system_projections=system_projections,
            )
            for i in range(nodes)
        )
        """The nodes, in the order gossip lists them."""
        for index, node in enumerate(self.nodes):
            node._cluster, node._index = self._state, index  # same package
            node._instance_id = self._state.instance_id(index)
        self.tls: TlsFiles | None = tls_files
        """The certificates every node presents (``None`` without TLS)."""
        self.access: AccessControl | None = self.nodes[0].access
        """Users and their rights, the same on every node."""

    def __repr__(self) -> str:
        states = ", ".join(f"{node.host}:{node._port} {node.state}" for node in self.nodes)
        return f"<InMemoryCluster [{states}]>"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __len__(self) -> int:
        return len(self.nodes)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start every node that is not running (node ``leader`` first, so it leads)."""
        order = sorted(range(len(self.nodes)), key=lambda i: i != self._first_leader)
        try:
            for index in order:
                self.nodes[index].start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every node (idempotent)."""
        for node in self.nodes:
            node._stop(None, elect=False)  # no elections while shutting down

    def stop_node(
        self, index: int, *, elect: bool = True, grace: float | None = None
    ) -> InMemoryEventStore:
        """Stop node ``index``: its port refuses connections, gossip reports it ``Shutdown``.

        If it led, the next running node leads at once; with ``elect=False`` nobody leads until
        :meth:`elect` (the running nodes then answer "Server Is Not Ready"). Calls in progress
        are cancelled, or with ``grace`` seconds may finish first (the node no longer leads
        meanwhile, so writes get "not leader"): a graceful step-down.

        Beware: kurrentdbclient 1.3.5 with grpcio 1.85 can hang for ever, past its deadline, in a
        ``BatchAppend`` that is in flight when its server stops without grace (about 1 stop in
        20 under a tight append loop). A graceful stop avoids it; a writer should not rely on it.
        """
        node = self.nodes[index]
        node._stop(grace, elect=elect)
        return node

    def start_node(self, index: int) -> InMemoryEventStore:
        """Start node ``index`` again on its port; it follows (or leads, if nobody does)."""
        return self.nodes[index].start()

    def elect(self, index: int) -> InMemoryEventStore:
        """Make node ``index`` the leader; the former leader answers "not leader" from now on."""
        self._state.elect(index)
        return self.nodes[index]

    def reset(self) -> None:
        """Forget all data, and every node's faults and call counts (nodes keep running)."""
        for node in self.nodes:
            node.faults.clear()
            node.calls.reset()
        self.database.clear()

    # -- roles ---------------------------------------------------------------------------------

    @property
    def leader_index(self) -> int | None:
        """The index of the leading node (``None`` while nobody leads)."""
        return self._state.leader_index

    @property
    def leader(self) -> InMemoryEventStore:
        """The leading node; ``RuntimeError`` while nobody leads."""
        index = self._state.leader_index
        if index is None:
            msg = "no node leads this cluster now (call elect())"
            raise RuntimeError(msg)
        return self.nodes[index]

    @property
    def followers(self) -> list[InMemoryEventStore]:
        """The running nodes that follow the leader."""
        return [node for node in self.nodes if node.state == "Follower"]

    def calls(self, rpc: str) -> int:
        """Calls of ``rpc`` received by all nodes together."""
        return sum(node.calls[rpc] for node in self.nodes)

    # -- addresses -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Every node in one connection string: ``esdb://H:P0,H:P1,H:P2?tls=...``.

        kurrentdbclient asks the listed nodes for gossip in turn (so a stopped node is skipped)
        and connects to the leader; in this mode it follows "not leader" answers by itself.
        """
        return self.url_for()

    @property
    def discover_url(self) -> str:
        """``esdb+discover://H:P?tls=...``, seeded with the first running node.

        kurrentdbclient reads gossip from that one address (in real life a DNS name with one
        record per node). The seed is fixed in the URL: if that node stops, rediscovery fails.
        """
        return self.url_for(discover=True)

    def url_for(
        self,
        user: str | None = None,
        password: str | None = None,
        *,
        ca_file: str | os.PathLike[str] | None = None,
        discover: bool = False,
    ) -> str:
        """A connection string for the cluster (see :meth:`InMemoryEventStore.url_for`)."""
        if discover:
            running = [n for n in self.nodes if n.is_running] or list(self.nodes)
            targets = [(running[0].host, running[0].port)]
        else:
            targets = [(n.host, n.port) for n in self.nodes]
        scheme = "esdb+discover" if discover else "esdb"
        return _url(scheme, targets, self.tls, self.access, user, password, ca_file)

    @property
    def ca_file(self) -> str:
        """Path of the CA certificate clients must trust (TLS only)."""
        return self.nodes[0].ca_file

    # -- seeding and inspection (shortcuts to ``self.database``) -------------------------------

    def append(
        self, stream: str, events: Sequence[ProposedEvent], expected_version: int = ANY
    ) -> AppendResult:
        """Write events directly (no gRPC), for seeding a test; see :meth:`Database.append`."""
        return self.database.append(stream, events, expected_version)

    def events(self, stream: str, *, include_deleted: bool = False) -> list[StoredEvent]:
        """The readable events of a stream, in order; see :meth:`Database.events`."""
        return self.database.events(stream, include_deleted=include_deleted)

    def all_events(self, *, include_system: bool = False) -> list[StoredEvent]:
        """All events in commit order; see :meth:`Database.all_events`."""
        return self.database.all_events(include_system=include_system)

    def stream_metadata(self, stream: str) -> dict[str, Any]:
        """The stream's metadata (``{}`` if none); see :meth:`Database.stream_metadata`."""
        return self.database.stream_metadata(stream)

    def wait_for(self, predicate: Callable[[], _T], *, timeout: float = 5.0) -> _T:
        """Wait until ``predicate()`` is truthy, re-checked after every write."""
        return self.database.wait_for(predicate, timeout=timeout)

    def wait_for_events(
        self, stream: str, count: int = 1, *, timeout: float = 5.0
    ) -> list[StoredEvent]:
        """Wait until ``stream`` has at least ``count`` events and return them."""
        return self.database.wait_for_events(stream, count, timeout=timeout)
