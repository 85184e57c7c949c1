"""A server that accepts connections but never answers: exit within close_timeout + 1 s, one
stderr line saying how many events were not confirmed and where they are; afterwards
``flush()``/``close()`` (and ``logging.shutdown()`` closing a handler) return at once."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps import start

pytestmark = pytest.mark.slow


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A listening socket nobody answers on (the kernel completes the TCP handshake)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"esdb://127.0.0.1:{sock.getsockname()[1]}?tls=false"


APP = """
import atexit
from plumberd_logging import EventStoreHandler

def after_exit_close():   # atexit hooks run after the writer's exit close
    start = time.monotonic()
    writer.flush(10)
    writer.close(10)
    print("after exit close: %.3f s" % (time.monotonic() - start), flush=True)

atexit.register(after_exit_close)
writer = EventWriter(URL, close_timeout=2, append_timeout=30{options})
handler = EventStoreHandler(writer=writer, service="silent", capture_logs=True)
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
send(writer, "Silent-1", 5)
for i in range(3):
    logging.info("line %d", i)
print("exiting", flush=True)
"""


def _run_to_exit(url: str, options: str = "") -> tuple[str, str, float]:
    child = start(APP.format(options=options), url)
    assert child.stdout is not None
    out = []
    for line in child.stdout:
        out.append(line)
        if line.strip() == "exiting":
            break
    began = time.monotonic()
    rest, err = child.communicate(timeout=60)
    seconds = time.monotonic() - began
    assert child.returncode == 0, err
    return "".join(out) + rest, err, seconds


def test_exit_against_a_silent_server_is_bounded_and_says_what_was_lost(silent_url: str) -> None:
    out, err, seconds = _run_to_exit(silent_url)
    assert seconds < 2 + 1, err
    lines = [line for line in err.splitlines() if "not confirmed" in line]
    assert len(lines) == 1, err
    assert re.search(r"8 events not confirmed by esdb://127\.0\.0\.1:\d+", lines[0])
    assert "they are lost" in lines[0]
    [after] = re.findall(r"after exit close: ([\d.]+) s", out)
    assert float(after) < 0.2  # flush() and close() did not wait a second time


def test_exit_against_a_silent_server_keeps_events_in_the_spool(
    silent_url: str, tmp_path: Path
) -> None:
    _, err, seconds = _run_to_exit(silent_url, f", spool_path={str(tmp_path)!r}")
    assert seconds < 2 + 1, err
    lines = [line for line in err.splitlines() if "not confirmed" in line]
    assert len(lines) == 1, err
    assert "8 events not confirmed" in lines[0]
    assert f"kept in the spool {tmp_path}" in lines[0]
