"""Helpers shared by the tests of plumberd_logging.testing (not a test module)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID, uuid4

from kurrentdbclient import KurrentDBClient, NewEvent, StreamState

__all__ = ["AppendFn", "discover_url", "event", "ids"]


class AppendFn(Protocol):
    """Append ``events`` to ``stream`` through one particular append RPC."""

    rpc: str

    def __call__(
        self,
        client: KurrentDBClient,
        stream: str,
        events: list[NewEvent],
        version: int | StreamState,
    ) -> int: ...


def event(event_type: str = "Happened", n: int = 0, **kwargs: object) -> NewEvent:
    """A small JSON event; ``n`` goes into the data so events differ."""
    data = kwargs.pop("data", f'{{"N": {n}}}'.encode())
    assert isinstance(data, bytes)
    metadata = kwargs.pop("metadata", b"")
    assert isinstance(metadata, bytes)
    event_id = kwargs.pop("id", uuid4())
    assert isinstance(event_id, UUID)
    assert not kwargs, kwargs
    return NewEvent(type=event_type, data=data, metadata=metadata, id=event_id)


def ids(events: object) -> list[UUID]:
    """The ids of recorded or new events, in order."""
    return [e.id for e in events]  # type: ignore[attr-defined]


def discover_url(url: str) -> str:
    """The ``+discover`` form of a direct connection string (``esdb://`` -> ``esdb+discover://``)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}+discover://{rest}"
