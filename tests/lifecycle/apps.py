"""Run a small application in a subprocess and count its events on the server by id."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import textwrap
from uuid import UUID

from plumberd_logging.testing import InMemoryEventStore

#: Every app starts with this: a ``Ping`` event and ``send(writer, stream, n)``, which prints
#: ``ID <uuid>`` per event submitted (the parent counts those on the server).
PRELUDE = """
import logging, os, signal, sys, time
from plumberd_logging import Event
from plumberd_logging.writer import EventWriter

class Ping(Event):
    n: int

URL = sys.argv[1]

def send(writer, stream, count):
    ids = []
    for i in range(count):
        ping = Ping(n=i)
        writer.submit(stream, ping)
        print("ID", ping.id, flush=True)
        ids.append(str(ping.id))
    return ids
"""


def program(code: str) -> str:
    return PRELUDE + textwrap.dedent(code)


def start(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", program(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def run(
    code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", program(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def printed_ids(stdout: str) -> list[UUID]:
    return [UUID(line.split()[1]) for line in stdout.splitlines() if line.startswith("ID ")]


def stored(store: InMemoryEventStore, *streams: str) -> collections.Counter[UUID]:
    """How many times each event id is stored across ``streams``."""
    counts: collections.Counter[UUID] = collections.Counter()
    for stream in streams:
        counts.update(e.id for e in store.events(stream))
    return counts


def assert_all_stored_once(store: InMemoryEventStore, ids: list[UUID], *streams: str) -> None:
    assert ids, "the app printed no event id"
    counts = stored(store, *streams)
    missing = [i for i in ids if i not in counts]
    assert not missing, f"{len(missing)} of {len(ids)} events not on the server"
    assert all(counts[i] == 1 for i in ids)
