"""The in-process server: :class:`InMemoryEventStore`, one gRPC node over a :class:`Database`.

grpc and kurrentdbclient's protobuf modules are imported when the server starts, not when this
module is imported, so ``import plumberd_logging.testing`` stays cheap.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote
from uuid import uuid4

from typing_extensions import Self

from plumberd_logging.testing._auth import DEFAULT_USERS, AccessControl
from plumberd_logging.testing._database import (
    ANY,
    AppendResult,
    Database,
    ProposedEvent,
    StoredEvent,
)
from plumberd_logging.testing._faults import CallCounter, Faults
from plumberd_logging.testing._runtime import (
    DEFAULT_MAX_APPEND_SIZE,
    ClusterState,
    NodeRuntime,
    NodeState,
)

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import grpc

    from plumberd_logging.testing._tls import TlsFiles

__all__ = ["InMemoryEventStore"]

_T = TypeVar("_T")
_STOP_TIMEOUT = 5.0
# The official .NET and Node.js clients ping every 10 s, with or without calls in flight; grpcio's
# defaults would count those pings as abuse (at most one per 5 minutes without data, two strikes)
# and close the connection with "too many pings". KurrentDB (Kestrel) accepts any ping rate. With
# unlimited strikes no ping ever closes a connection, with or without calls, so the server needs no
# grpc.keepalive_permit_without_calls (which also slowed clients' moves to a new leader when a
# node stopped with a grace period).
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.so_reuseport", 0),  # a second server on a busy port must fail, not share it
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 1_000),
    ("grpc.http2.max_ping_strikes", 0),  # 0: never close a connection for its pings
)
_URL_UNSAFE = "@/?#"
_RUNNING: weakref.WeakSet[InMemoryEventStore] = weakref.WeakSet()
_exit_hook_lock = threading.Lock()
_exit_hook_registered = False


def _stop_running_servers() -> None:
    """Stop servers still running at interpreter exit, so no held call blocks the exit."""
    for store in list(_RUNNING):
        store.stop()


def _register_exit_hook() -> None:
    # The server's worker threads are joined at exit by concurrent.futures' own hook, which
    # threading runs before atexit handlers; a call held by a hang would block that join. So
    # the servers must stop in a threading exit hook registered after concurrent.futures' one
    # (they run last-registered first), falling back to atexit where that hook does not exist.
    global _exit_hook_registered
    with _exit_hook_lock:
        if _exit_hook_registered:
            return
        register = getattr(threading, "_register_atexit", None)
        try:
            (register or atexit.register)(_stop_running_servers)
        except RuntimeError:  # already shutting down
            return
        _exit_hook_registered = True


class InMemoryEventStore:
    """A protocol-faithful EventStoreDB/KurrentDB gRPC server in this process, for tests.

    The real ``kurrentdbclient`` talks to it unmodified::

        with InMemoryEventStore() as store:            # port=0: a free port on 127.0.0.1
            client = KurrentDBClient(store.url)        # esdb://127.0.0.1:PORT?tls=false
            try:
                client.append_to_stream("orders", current_version=StreamState.ANY,
                                        events=[NewEvent(type="OrderPlaced", data=b"{}")])
            finally:
                client.close()
            assert store.events("orders")[0].type == "OrderPlaced"

    ``store.faults`` injects failures, delays and hangs per RPC; ``store.calls`` counts calls.
    :meth:`stop` closes the port (connections are then refused); :meth:`restart` serves the same
    data on the same port again. One :class:`Database` may be shared by several servers.

    A secure node, like a KurrentDB with its default settings::

        store = InMemoryEventStore(tls=True, users={"admin": "changeit", "reader": "pw"},
                                   writers={"admin"})
        store.url            # esdb://admin:changeit@127.0.0.1:PORT?tls=true&tlsCAFile=...
        store.url_for("reader")   # the same server as another user
        store.ca_file        # the generated CA (store.tls holds every certificate file)

    ``tls=True`` generates a CA and a certificate for ``localhost``/``127.0.0.1``; pass a
    :class:`TlsFiles` to use others (:meth:`TlsFiles.issue` makes one for a wrong host name), or
    a directory to use the files there (generated there first if it has none).
    With TLS and no ``users`` there is one user, ``admin``/``changeit``. Users need TLS, since
    kurrentdbclient sends credentials only over TLS. See :class:`AccessControl` for the rules.

    ``system_projections=False`` leaves out the ``$et-``/``$ce-`` streams of KurrentDB's
    ``$by_event_type`` and ``$by_category`` projections (like ``--run-projections=none``).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        max_append_size: int = DEFAULT_MAX_APPEND_SIZE,
        database: Database | None = None,
        max_workers: int = 32,
        tls: bool | TlsFiles | str | os.PathLike[str] = False,
        users: Mapping[str, str] | None = None,
        writers: Collection[str] | None = None,
        admins: Collection[str] | None = None,
        system_projections: bool = True,
    ) -> None:
        if max_append_size < 1:
            msg = f"max_append_size must be positive, got {max_append_size}"
            raise ValueError(msg)
        if tls is False and (users is not None or writers is not None or admins is not None):
            msg = (
                "users need tls=True: kurrentdbclient sends credentials only over TLS "
                "(a server without TLS accepts every call, like KurrentDB's --insecure)"
            )
            raise ValueError(msg)
        self.database: Database = _database(database, system_projections)
        """The data this server serves (shared with other servers if you pass it to them)."""
        self.faults = Faults()
        """Fault injection for this server, see :class:`Faults`."""
        self.calls = CallCounter()
        """Calls received per RPC name, see :class:`CallCounter`."""
        self.host = host
        self.max_append_size = max_append_size
        self.tls: TlsFiles | None = _tls_files(tls)
        """The CA and server certificate files when the server uses TLS, else ``None``."""
        self.access: AccessControl | None = (
            None
            if self.tls is None
            else AccessControl.create(
                users if users is not None else DEFAULT_USERS, writers=writers, admins=admins
            )
        )
        """Users and what they may do (``None`` without TLS: every call is accepted)."""
        self._port = port
        self._max_workers = max_workers
        self._instance_id = uuid4()
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._runtime: NodeRuntime | None = None
        self._cluster: ClusterState | None = None  # set by InMemoryCluster before start()
        self._index = 0

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        secure = " tls" if self.tls is not None else ""
        return f"<InMemoryEventStore {self.host}:{self._port}{secure} {state}>"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (known once started when created with ``port=0``)."""
        if self._port == 0:
            msg = "the port is chosen when the server starts; call start() first"
            raise RuntimeError(msg)
        return self._port

    @property
    def url(self) -> str:
        """Connection string for ``KurrentDBClient``: ``esdb://127.0.0.1:PORT?tls=false``.

        With TLS: ``esdb://USER:PASSWORD@127.0.0.1:PORT?tls=true&tlsCAFile=CA`` for the first
        of the users (see :meth:`url_for`).
        """
        return self.url_for()

    @property
    def discover_url(self) -> str:
        """The same server through gossip discovery: ``esdb+discover://...``."""
        return self.url_for(discover=True)

    def url_for(
        self,
        user: str | None = None,
        password: str | None = None,
        *,
        ca_file: str | os.PathLike[str] | None = None,
        discover: bool = False,
    ) -> str:
        """A connection string for this server, as ``user`` (TLS only).

        ``password`` defaults to the user's own (pass a wrong one to test refusals);
        ``ca_file`` defaults to this server's CA (pass another CA's to test an unknown CA).
        Without TLS, credentials are left out (the client would not send them anyway).
        """
        return _url(
            "esdb+discover" if discover else "esdb",
            [(self.host, self.port)],
            self.tls,
            self.access,
            user,
            password,
            ca_file,
        )

    @property
    def ca_file(self) -> str:
        """Path of the CA certificate clients must trust (TLS only)."""
        if self.tls is None:
            msg = "this server does not use TLS; create it with tls=True"
            raise RuntimeError(msg)
        return str(self.tls.ca_file)

    @property
    def is_running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    @property
    def state(self) -> NodeState:
        """``Leader`` (a single node always leads), ``Follower``, or while stopped in a
        cluster ``Shutdown``."""
        if self._cluster is None:
            return "Leader"
        return self._cluster.state_of(self._index)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving (idempotent) and return the server: ``InMemoryEventStore().start()``."""
        from concurrent.futures import ThreadPoolExecutor

        import grpc

        from plumberd_logging.testing._servicers import build_handlers

        with self._lock:
            if self._server is not None:
                return self
            runtime = NodeRuntime(
                database=self.database,
                host=self.host,
                port=self._port,
                faults=self.faults,
                calls=self.calls,
                max_append_size=self.max_append_size,
                instance_id=self._instance_id,
                access=self.access,
                cluster=self._cluster,
                index=self._index,
            )
            executor = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="plumberd-testing-server"
            )
            server = grpc.server(
                executor, handlers=build_handlers(runtime), options=list(SERVER_OPTIONS)
            )
            address = f"{self.host}:{self._port}"
            try:
                if self.tls is None:
                    bound = server.add_insecure_port(address)
                else:
                    credentials = grpc.ssl_server_credentials([self.tls.server_key_pair()])
                    bound = server.add_secure_port(address, credentials)
            except RuntimeError as e:
                executor.shutdown(wait=False)
                msg = f"cannot listen on {address}: {e}"
                raise OSError(msg) from e
            if bound == 0:  # older grpcio reports failure this way
                executor.shutdown(wait=False)
                msg = f"cannot listen on {address}"
                raise OSError(msg)
            self._port = runtime.port = bound
            _register_exit_hook()
            server.start()
            if self._cluster is not None:
                self._cluster.node_started(self._index, self.host, bound)
            self._server, self._executor, self._runtime = server, executor, runtime
            _RUNNING.add(self)
            return self

    def stop(self, grace: float | None = None) -> None:
        """Stop serving and close the port; calls in progress are cancelled (idempotent).

        ``grace`` seconds let calls in progress finish first. Held calls (delays, hangs) let go
        at once, so this never waits for them; catch-up subscriptions end (their clients see
        the call cancelled). In a cluster, a stopped leader hands over to the next node.
        """
        self._stop(grace, elect=True)

    def _stop(self, grace: float | None, *, elect: bool) -> None:
        with self._lock:
            server, executor, runtime = self._server, self._executor, self._runtime
            self._server = self._executor = self._runtime = None
            _RUNNING.discard(self)
        if server is None or executor is None or runtime is None:
            return
        if self._cluster is not None:
            self._cluster.node_stopped(self._index, elect=elect)
        runtime.stopping.set()
        server.stop(grace).wait(_STOP_TIMEOUT)
        executor.shutdown(wait=False, cancel_futures=True)

    def restart(self, *, keep_recent_ids: bool = False) -> None:
        """Stop, then serve the same data on the same port, like a restarted server process.

        Like a real node, the restarted server forgets its recent-event-ids cache, so retries
        with ``StreamState.ANY`` are no longer recognised as duplicates (explicit expected
        versions still are); pass ``keep_recent_ids=True`` to keep it.
        """
        port = self.port
        self.stop()
        if not keep_recent_ids:
            self.database.forget_recent_ids()
        self._port = port
        self.start()

    def reset(self) -> None:
        """Forget all data, faults and call counts (the server keeps running)."""
        self.faults.clear()
        self.calls.reset()
        self.database.clear()

    # -- seeding and inspection (shortcuts to ``self.database``) -------------------------------

    def append(
        self, stream: str, events: Sequence[ProposedEvent], expected_version: int = ANY
    ) -> AppendResult:
        """Write events directly (no gRPC), for seeding a test; see :meth:`Database.append`."""
        return self.database.append(stream, events, expected_version)

    def events(self, stream: str, *, include_deleted: bool = False) -> list[StoredEvent]:
        """The readable events of a stream, in order; see :meth:`Database.events`."""
        return self.database.events(stream, include_deleted=include_deleted)

    def streams(self, *, include_system: bool = False) -> list[str]:
        """Names of the streams that have events; see :meth:`Database.streams`."""
        return self.database.streams(include_system=include_system)

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


def _database(database: Database | None, system_projections: bool) -> Database:
    """The given database, or a new one; ``system_projections`` must agree with a given one."""
    if database is None:
        return Database(system_projections=system_projections)
    if database.system_projections != system_projections:
        msg = (
            f"system_projections={system_projections} contradicts the database passed "
            f"(created with system_projections={database.system_projections})"
        )
        raise ValueError(msg)
    return database


def _tls_files(tls: bool | TlsFiles | str | os.PathLike[str]) -> TlsFiles | None:
    """``False``: no TLS; ``True``: new certificates; a directory: the ones there (or new)."""
    if tls is False:
        return None
    from plumberd_logging.testing._tls import TlsFiles

    if tls is True:
        return TlsFiles.generate()
    if isinstance(tls, TlsFiles):
        return tls
    return TlsFiles.load_or_generate(tls)


def _url(
    scheme: str,
    targets: Sequence[tuple[str, int]],
    tls: TlsFiles | None,
    access: AccessControl | None,
    user: str | None,
    password: str | None,
    ca_file: str | os.PathLike[str] | None,
) -> str:
    """``scheme://[user:password@]host:port[,host:port...]?tls=...`` for kurrentdbclient."""
    hosts = ",".join(f"{host}:{port}" for host, port in targets)
    if tls is None:
        if user is not None or password is not None or ca_file is not None:
            msg = "credentials and a CA file need a server with TLS"
            raise ValueError(msg)
        return f"{scheme}://{hosts}?tls=false"
    assert access is not None
    name = user if user is not None else next(iter(access.users))
    secret = password if password is not None else access.users.get(name)
    if secret is None:
        msg = f"unknown user {name!r}; pass its password to build a URL for it"
        raise ValueError(msg)
    # kurrentdbclient takes user and password from the URL as they are (no percent-decoding)
    # and splits the host list at the first "@": such characters cannot be passed this way.
    if any(c in value for value in (name, secret) for c in _URL_UNSAFE):
        msg = f"user names and passwords in a URL cannot contain any of {_URL_UNSAFE!r}"
        raise ValueError(msg)
    ca = os.fspath(ca_file if ca_file is not None else tls.ca_file)
    return f"{scheme}://{name}:{secret}@{hosts}?tls=true&tlsCAFile={quote(ca, safe='/')}"
