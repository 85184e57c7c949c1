"""Shared by the runnable examples: a server to talk to, and a printout of what was written.

``PLUMBERD_URL`` set: that server. Not set: an in-process server from
``plumberd_logging.testing`` (no EventStoreDB needed), stopped when the example ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator

from plumberd_logging import EventStoreClient

__all__ = ["event_store", "show"]


@contextlib.contextmanager
def event_store() -> Iterator[str]:
    """The connection string of the server the example writes to."""
    url = os.environ.get("PLUMBERD_URL")
    if url:
        print(f"writing to $PLUMBERD_URL ({EventStoreClient(url).url})")
        yield url
        return
    from plumberd_logging.testing import InMemoryEventStore

    with InMemoryEventStore() as store:
        print(f"PLUMBERD_URL is not set: using an in-process server at {store.url}")
        yield store.url


def show(url: str, streams: Iterable[str]) -> None:
    """Print every event of ``streams``: stream, type, id, data and metadata, as stored."""
    with EventStoreClient(url) as client:
        for stream in streams:
            for e in client.read_stream(stream):
                print(f"\n{e.stream}  #{e.revision}  {e.type}  id={e.id}")
                print(f"  data:     {e.raw_data.decode()}")
                print(f"  metadata: {e.raw_metadata.decode()}")
