"""Run the test server in a separate process: :class:`ServerProcess`.

For benchmarks (client and server on different interpreters, as in production) and for crash
tests (``kill()`` delivers SIGKILL, so clients see a vanished server without a goodbye)::

    with ServerProcess() as server:                   # python -m plumberd_logging.testing
        client = KurrentDBClient(server.url)
        ...
        server.kill()                                 # crash
        server.start()                                # same port, empty database

The child prints its URL on stdout once it listens; ``start()`` waits for that line.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from typing import IO

from typing_extensions import Self

from plumberd_logging.testing._runtime import DEFAULT_MAX_APPEND_SIZE

__all__ = ["ServerProcess"]


class ServerProcess:
    """``python -m plumberd_logging.testing`` as a child process, managed as a context manager.

    ``port=0`` lets the first start pick a free port; later starts reuse it. Each start begins
    with an empty database (the process keeps its data in memory only).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        max_append_size: int = DEFAULT_MAX_APPEND_SIZE,
        python: str | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.max_append_size = max_append_size
        self.startup_timeout = startup_timeout
        self._python = python or sys.executable
        self._port = port
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[bytes] | None = None

    def __repr__(self) -> str:
        state = f"pid {self._process.pid}" if self.is_running and self._process else "stopped"
        return f"<ServerProcess {self.host}:{self._port} {state}>"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port (known after the first start when created with ``port=0``)."""
        if self._port == 0:
            msg = "the port is chosen when the server starts; call start() first"
            raise RuntimeError(msg)
        return self._port

    @property
    def url(self) -> str:
        """Connection string: ``esdb://HOST:PORT?tls=false``."""
        return f"esdb://{self.host}:{self.port}?tls=false"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the child and wait until it listens; raises ``RuntimeError`` if it cannot."""
        if self.is_running:
            return self
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _reap()
        command = [
            self._python,
            "-m",
            "plumberd_logging.testing",
            "--host",
            self.host,
            "--port",
            str(self._port),
            "--max-append-size",
            str(self.max_append_size),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env
        )
        url = self._read_url(self._process)
        self._port = int(url.rsplit(":", 1)[1].split("?", 1)[0])
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        """Ask the child to stop (SIGTERM), kill it after ``timeout``; returns its exit code."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return self._reap()

    def kill(self) -> int | None:
        """Crash the child (SIGKILL): no graceful shutdown, clients get no GOAWAY."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
            process.wait()
        return self._reap()

    def restart(self) -> Self:
        """Stop and start again on the same port, with an empty database."""
        self.stop()
        return self.start()

    def _read_url(self, process: subprocess.Popen[str]) -> str:
        lines: queue.Queue[str] = queue.Queue()
        stdout = process.stdout
        assert stdout is not None
        reader = threading.Thread(
            target=lambda: lines.put(stdout.readline()), name="server-process-url", daemon=True
        )
        reader.start()
        try:
            line = lines.get(timeout=self.startup_timeout).strip()
        except queue.Empty:
            line = ""
        if not line.startswith("esdb://"):
            process.kill()
            process.wait()
            detail = self._stderr_text()
            self._reap()
            msg = f"test server did not start (exit code {process.returncode}): {detail}"
            raise RuntimeError(msg)
        return line

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()[-2000:]

    def _reap(self) -> int | None:
        process, self._process = self._process, None
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return process.returncode if process is not None else None
