"""What the gRPC servicers know about the node they serve (pure Python, no gRPC import).

A :class:`NodeRuntime` ties one listening node to its shared :class:`Database`, its own faults and
call counts, and to how it describes the cluster in gossip. A cluster of several nodes is several
runtimes over one database, each with its own :class:`Member` list view.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID, uuid4

from plumberd_logging.testing._database import Database
from plumberd_logging.testing._faults import CallCounter, Faults

__all__ = ["DEFAULT_MAX_APPEND_SIZE", "Member", "NodeRuntime", "NodeState"]

DEFAULT_MAX_APPEND_SIZE = 1_048_576
"""KurrentDB's default ``MaxAppendSize``: 1 MiB per append."""

NodeState = Literal["Leader", "Follower", "ReadOnlyReplica"]


@dataclass(frozen=True)
class Member:
    """One cluster member as gossip describes it; ``port`` is the gRPC (HTTP) port."""

    host: str
    port: int
    state: NodeState = "Leader"
    instance_id: UUID = field(default_factory=uuid4)
    is_alive: bool = True


@dataclass
class NodeRuntime:
    """Everything a servicer needs: the data, this node's faults and counters, and gossip."""

    database: Database
    host: str
    port: int
    faults: Faults = field(default_factory=Faults)
    calls: CallCounter = field(default_factory=CallCounter)
    max_append_size: int = DEFAULT_MAX_APPEND_SIZE
    instance_id: UUID = field(default_factory=uuid4)
    state: NodeState = "Leader"
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the node stops, so held calls (delays, hangs) let go at once."""
    cluster: Callable[[], Sequence[Member]] | None = None
    """Gossip's member list; ``None`` means this node alone."""

    def members(self) -> Sequence[Member]:
        """The members gossip reports (this node alone unless a cluster is configured)."""
        if self.cluster is not None:
            return self.cluster()
        return (Member(self.host, self.port, self.state, self.instance_id),)
