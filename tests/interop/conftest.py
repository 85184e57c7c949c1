"""Drive the official KurrentDB Node.js client (``kurrent.js``) against ``plumberd serve``.

The tests skip, with the reason, when ``node`` is missing or the pinned npm package is not
installed (``npm ci --prefix tests/interop``).
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["INTEROP", "ServeProcess", "node", "node_missing"]

INTEROP = Path(__file__).parent
SCRIPT = INTEROP / "kurrent.js"
_PACKAGE = INTEROP / "node_modules" / "@kurrent" / "kurrentdb-client" / "package.json"


def node_missing() -> str | None:
    """Why the Node.js tests cannot run here, or ``None`` when they can."""
    if shutil.which("node") is None:
        return "node is not installed (the interop tests drive the official Node.js client)"
    if not _PACKAGE.is_file():
        return "@kurrent/kurrentdb-client is not installed: run npm ci --prefix tests/interop"
    return None


def node(scenario: str, url: str, *, timeout: float = 60, **args: Any) -> dict[str, Any]:
    """Run one scenario of ``kurrent.js`` and return the JSON it prints."""
    completed = subprocess.run(
        ["node", str(SCRIPT), scenario, json.dumps({"url": url, **args})],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=INTEROP,
        check=False,
    )
    if completed.returncode != 0:
        msg = f"node kurrent.js {scenario} failed ({completed.returncode}):\n{completed.stderr}"
        raise AssertionError(msg)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


class ServeProcess:
    """``plumberd serve --port 0 ...`` as a child process; :attr:`url` is its first stdout line."""

    def __init__(self, *options: str) -> None:
        command = [sys.executable, "-m", "plumberd_logging", "serve", "--port", "0", *options]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self._process.stdout is not None
        stdout = self._process.stdout

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        try:
            self.url = lines.get(timeout=60).strip()
        except queue.Empty:
            self.stop()
            msg = f"plumberd serve {' '.join(options)} printed no URL within 60 s"
            raise RuntimeError(msg) from None

    def stop(self) -> None:
        """SIGTERM, then wait for the exit (killed if it does not come)."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)


_MODES = {
    "single": (),
    "tls-users": ("--tls", "--users", "admin:changeit,reader:pw", "--writers", "admin"),
    "cluster": ("--cluster", "3", "--tls"),
}


@pytest.fixture(scope="module", params=sorted(_MODES))
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of ``plumberd serve`` as a single node, with TLS and users, and as a cluster."""
    reason = node_missing()
    if reason is not None:
        pytest.skip(reason)
    process = ServeProcess(*_MODES[request.param])
    try:
        yield process.url
    finally:
        process.stop()
