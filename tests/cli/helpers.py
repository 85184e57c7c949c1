"""Running the ``plumberd`` command in a subprocess, and spools left behind by real writers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

__all__ = [
    "PASSWORD",
    "closed_port",
    "plumberd",
    "spool_writer",
]

#: A password recognisable in any output it leaks into.
PASSWORD = "s3cret-pw"


def plumberd(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    """``python -m plumberd_logging ARGS`` with ``$PLUMBERD_URL`` unset unless given."""
    environ = {k: v for k, v in os.environ.items() if k != "PLUMBERD_URL"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "plumberd_logging", *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
        check=False,
        env=environ,
    )


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SPOOL_WRITER = """
import sys, time
from plumberd_logging import Event
from plumberd_logging.writer import EventWriter

class Ping(Event):
    n: int

url, spool, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
writer = EventWriter(url, spool_path=spool, linger=0.01)
for i in range(count):
    writer.submit("Ping-1", Ping(n=i))   # on disk when submit returns
print("spooled", flush=True)
time.sleep(120)
"""


def spool_writer(url: str, spool: Path, count: int) -> subprocess.Popen[str]:
    """A running process whose writer has put ``count`` events in ``spool``.

    Its writer cannot deliver them while ``url`` is down; SIGKILL it to leave them orphaned.
    """
    args = [sys.executable, "-c", SPOOL_WRITER, url, str(spool), str(count)]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()  # blocks until the events are on disk (or the child died)
    if line.strip() != "spooled":
        child.kill()
        child.wait(10)
        raise AssertionError(f"the spool writer did not start: {line!r}")
    return child
