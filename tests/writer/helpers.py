"""Shared helpers for the writer tests."""

from __future__ import annotations

import collections
import json
from uuid import UUID

from plumberd_logging import Event
from plumberd_logging.testing import InMemoryEventStore


class Ping(Event):
    n: int


def ids_on_server(store: InMemoryEventStore, streams: list[str]) -> collections.Counter[UUID]:
    """How many times each event id is stored across ``streams``."""
    counts: collections.Counter[UUID] = collections.Counter()
    for stream in streams:
        counts.update(e.id for e in store.events(stream))
    return counts


def numbers(store: InMemoryEventStore, stream: str) -> list[int]:
    """The ``N`` field of the ``Ping`` events of ``stream``, in stream order."""
    return [json.loads(e.data)["N"] for e in store.events(stream)]
