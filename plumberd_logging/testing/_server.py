"""The in-process server: :class:`InMemoryEventStore`, one gRPC node over a :class:`Database`.

grpc and kurrentdbclient's protobuf modules are imported when the server starts, not when this
module is imported, so ``import plumberd_logging.testing`` stays cheap.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import uuid4

from typing_extensions import Self

from plumberd_logging.testing._database import (
    ANY,
    AppendResult,
    Database,
    ProposedEvent,
    StoredEvent,
)
from plumberd_logging.testing._faults import CallCounter, Faults
from plumberd_logging.testing._runtime import DEFAULT_MAX_APPEND_SIZE, NodeRuntime

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import grpc

__all__ = ["InMemoryEventStore"]

_T = TypeVar("_T")
_STOP_TIMEOUT = 5.0
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
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        max_append_size: int = DEFAULT_MAX_APPEND_SIZE,
        database: Database | None = None,
        max_workers: int = 32,
    ) -> None:
        if max_append_size < 1:
            msg = f"max_append_size must be positive, got {max_append_size}"
            raise ValueError(msg)
        self.database: Database = database if database is not None else Database()
        """The data this server serves (shared with other servers if you pass it to them)."""
        self.faults = Faults()
        """Fault injection for this server, see :class:`Faults`."""
        self.calls = CallCounter()
        """Calls received per RPC name, see :class:`CallCounter`."""
        self.host = host
        self.max_append_size = max_append_size
        self._port = port
        self._max_workers = max_workers
        self._instance_id = uuid4()
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._runtime: NodeRuntime | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<InMemoryEventStore {self.host}:{self._port} {state}>"

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
        """Connection string for ``KurrentDBClient``: ``esdb://127.0.0.1:PORT?tls=false``."""
        return f"esdb://{self.host}:{self.port}?tls=false"

    @property
    def discover_url(self) -> str:
        """The same server through gossip discovery: ``esdb+discover://...?tls=false``."""
        return f"esdb+discover://{self.host}:{self.port}?tls=false"

    @property
    def is_running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

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
            )
            executor = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="plumberd-testing-server"
            )
            # No SO_REUSEPORT: a second server on a busy port must fail, not share it.
            server = grpc.server(
                executor, handlers=build_handlers(runtime), options=[("grpc.so_reuseport", 0)]
            )
            address = f"{self.host}:{self._port}"
            try:
                bound = server.add_insecure_port(address)
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
            self._server, self._executor, self._runtime = server, executor, runtime
            _RUNNING.add(self)
            return self

    def stop(self, grace: float | None = None) -> None:
        """Stop serving and close the port; calls in progress are cancelled (idempotent).

        ``grace`` seconds let calls in progress finish first. Held calls (delays, hangs) let go
        at once, so this never waits for them.
        """
        with self._lock:
            server, executor, runtime = self._server, self._executor, self._runtime
            self._server = self._executor = self._runtime = None
            _RUNNING.discard(self)
        if server is None or executor is None or runtime is None:
            return
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
