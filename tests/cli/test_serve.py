"""``plumberd serve``: a foreground server real clients use; it stops cleanly on signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from plumberd_logging import Event, EventStoreClient

from .conftest import Run


class Ping(Event):
    n: int


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``plumberd serve --port 0`` running, and the URL it printed first."""
    env = {k: v for k, v in os.environ.items() if k != "PLUMBERD_URL"}
    child = subprocess.Popen(
        [sys.executable, "-m", "plumberd_logging", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    url = child.stdout.readline().strip()  # printed once it listens
    try:
        yield child, url
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_real_clients_until_a_signal_then_exits_0(
    server: tuple[subprocess.Popen[str], str], sig: signal.Signals
) -> None:
    child, url = server
    assert url.startswith("esdb://127.0.0.1:")
    assert url.endswith("?tls=false")
    with EventStoreClient(url) as client:
        client.append_to_stream("Ping-1", [Ping(n=1), Ping(n=2)])
        assert [e.data["N"] for e in client.read_stream("Ping-1")] == [1, 2]
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=10)
    assert child.returncode == 0
    assert "Ctrl-C to stop" in stderr
    assert "stopped; 2 events in 1 stream discarded" in stderr
    assert "Traceback" not in stderr


def test_a_port_in_use_is_busy(server: tuple[subprocess.Popen[str], str], run: Run) -> None:
    _, url = server
    port = url.rsplit(":", 1)[1].split("?")[0]
    done = run("serve", "--port", port)
    assert done.returncode == 7
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in done.stderr
    assert "--port 0 picks a free port" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_options_are_usage_errors(run: Run) -> None:
    assert run("serve", "--port", "70000").returncode == 2
    done = run("serve", "--host", "no-such-host.invalid", "--port", "0")
    assert done.returncode == 2
    assert "--host 'no-such-host.invalid'" in done.stderr
