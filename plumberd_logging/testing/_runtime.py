"""What the gRPC servicers know about the node they serve (pure Python, no gRPC import).

A :class:`NodeRuntime` ties one listening node to its shared :class:`Database`, its own faults and
call counts, its users (:class:`~plumberd_logging.testing._auth.AccessControl`) and its place in a
cluster. A cluster of several nodes is several runtimes over one database sharing one
:class:`ClusterState`, which decides who leads and what gossip reports.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from uuid import UUID, uuid4

from plumberd_logging.testing._database import Database
from plumberd_logging.testing._faults import CallCounter, Faults

if TYPE_CHECKING:
    from plumberd_logging.testing._auth import AccessControl

__all__ = ["DEFAULT_MAX_APPEND_SIZE", "ClusterState", "Member", "NodeRuntime", "NodeState"]

DEFAULT_MAX_APPEND_SIZE = 1_048_576
"""KurrentDB's default ``MaxAppendSize``: 1 MiB per append."""

NodeState = Literal["Leader", "Follower", "ReadOnlyReplica", "Unknown", "Shutdown"]
"""Gossip's ``VNodeState`` names that the test server uses."""


@dataclass(frozen=True)
class Member:
    """One cluster member as gossip describes it; ``port`` is the gRPC (HTTP) port."""

    host: str
    port: int
    state: NodeState = "Leader"
    instance_id: UUID = field(default_factory=uuid4)
    is_alive: bool = True


@dataclass
class _Slot:
    host: str
    port: int
    instance_id: UUID
    running: bool = False


class ClusterState:
    """Who is running and who leads, shared by the nodes of one cluster (thread-safe).

    A running node is the ``Leader`` or a ``Follower``; while no node leads (after the leader
    stopped with ``elect=False``) the running nodes are ``Unknown`` and not ready. A stopped node
    stays in gossip as ``Shutdown``, not alive.
    """

    def __init__(self, size: int, host: str) -> None:
        if size < 1:
            msg = f"a cluster needs at least one node, got {size}"
            raise ValueError(msg)
        self._lock = threading.Lock()
        self._slots = [_Slot(host, 0, uuid4()) for _ in range(size)]
        self._leader: int | None = None

    def __len__(self) -> int:
        return len(self._slots)

    def instance_id(self, index: int) -> UUID:
        """The fixed instance id of node ``index``."""
        return self._slots[index].instance_id

    @property
    def leader_index(self) -> int | None:
        """The leading node's index, ``None`` while there is no leader."""
        with self._lock:
            return self._leader

    def state_of(self, index: int) -> NodeState:
        """Node ``index``'s state, as it reports it in gossip."""
        with self._lock:
            return self._state(index)

    def leader(self) -> Member | None:
        """The leader as gossip describes it, ``None`` while there is no leader."""
        with self._lock:
            if self._leader is None:
                return None
            return self._member(self._leader)

    def members(self) -> list[Member]:
        """Every node, in index order, as gossip describes them."""
        with self._lock:
            return [self._member(i) for i in range(len(self._slots))]

    def node_started(self, index: int, host: str, port: int) -> None:
        """Node ``index`` listens on ``host:port``; it leads if nobody else does."""
        with self._lock:
            slot = self._slots[index]
            slot.host, slot.port, slot.running = host, port, True
            if self._leader is None:
                self._leader = index

    def node_stopped(self, index: int, *, elect: bool = True) -> None:
        """Node ``index`` stopped; if it led, the next running node leads (unless not ``elect``)."""
        with self._lock:
            self._slots[index].running = False
            if self._leader == index:
                self._leader = None
                if elect:
                    self._leader = self._first_running()

    def elect(self, index: int) -> None:
        """Make running node ``index`` the leader (the others follow)."""
        with self._lock:
            if not 0 <= index < len(self._slots):
                msg = f"no node {index} in a cluster of {len(self._slots)}"
                raise IndexError(msg)
            if not self._slots[index].running:
                msg = f"node {index} is not running; start it before electing it"
                raise ValueError(msg)
            self._leader = index

    def _first_running(self) -> int | None:
        return next((i for i, s in enumerate(self._slots) if s.running), None)

    def _state(self, index: int) -> NodeState:
        if not self._slots[index].running:
            return "Shutdown"
        if self._leader is None:
            return "Unknown"
        return "Leader" if self._leader == index else "Follower"

    def _member(self, index: int) -> Member:
        slot = self._slots[index]
        return Member(slot.host, slot.port, self._state(index), slot.instance_id, slot.running)


@dataclass
class NodeRuntime:
    """Everything a servicer needs: the data, this node's faults and counters, users, gossip."""

    database: Database
    host: str
    port: int
    faults: Faults = field(default_factory=Faults)
    calls: CallCounter = field(default_factory=CallCounter)
    max_append_size: int = DEFAULT_MAX_APPEND_SIZE
    instance_id: UUID = field(default_factory=uuid4)
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the node stops, so held calls (delays, hangs) let go at once."""
    access: AccessControl | None = None
    """Users and their rights; ``None``: no authentication (an insecure node)."""
    cluster: ClusterState | None = None
    """The cluster this node belongs to (``None``: a single node, always the leader)."""
    index: int = 0
    """This node's index in :attr:`cluster`."""

    @property
    def state(self) -> NodeState:
        """``Leader``, ``Follower`` or (in a cluster without a leader) ``Unknown``."""
        if self.cluster is None:
            return "Leader"
        return self.cluster.state_of(self.index)

    def leader(self) -> Member | None:
        """The leader's address (this node when it leads), ``None`` while there is none."""
        if self.cluster is None:
            return self.members()[0]
        return self.cluster.leader()

    def members(self) -> Sequence[Member]:
        """The members gossip reports (this node alone unless it is part of a cluster)."""
        if self.cluster is not None:
            return self.cluster.members()
        return (Member(self.host, self.port, "Leader", self.instance_id),)
