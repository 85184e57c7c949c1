"""Run the test server in a separate process: :class:`ServerProcess`.

For benchmarks (client and server on different interpreters, as in production) and for crash
tests (``kill()`` delivers SIGKILL, so clients see a vanished server without a goodbye)::

    with ServerProcess() as server:                   # python -m plumberd_logging.testing
        client = KurrentDBClient(server.url)
        ...
        server.kill()                                 # crash
        server.start()                                # same port, empty database

The child prints its URL on stdout once it listens; ``start()`` waits for that line. A secure
server or a cluster is one option away::

    ServerProcess(tls=True, users={"admin": "changeit", "reader": "pw"}, writers=["admin"])
    ServerProcess(cluster=3)          # .url lists the three nodes, .node_urls each of them

The certificates of a TLS server are made once, in the parent, and kept across restarts.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Collection, Mapping
from typing import IO

from typing_extensions import Self

from plumberd_logging.testing._runtime import DEFAULT_MAX_APPEND_SIZE
from plumberd_logging.testing._tls import TlsFiles

__all__ = ["ServerProcess"]


class ServerProcess:
    """``python -m plumberd_logging.testing`` as a child process, managed as a context manager.

    ``port=0`` lets the first start pick a free port; later starts reuse it. Each start begins
    with an empty database (the process keeps its data in memory only). ``tls``, ``users``,
    ``writers`` and ``cluster`` are passed on as ``--tls``, ``--users``, ``--writers`` and
    ``--cluster`` (see ``python -m plumberd_logging.testing --help``).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        max_append_size: int = DEFAULT_MAX_APPEND_SIZE,
        python: str | None = None,
        startup_timeout: float = 30.0,
        tls: bool | TlsFiles = False,
        users: Mapping[str, str] | None = None,
        writers: Collection[str] | None = None,
        cluster: int | None = None,
    ) -> None:
        self.host = host
        self.max_append_size = max_append_size
        self.startup_timeout = startup_timeout
        self.users = dict(users) if users is not None else None
        self.writers = list(writers) if writers is not None else None
        self.cluster = cluster
        if tls is True or (tls is False and (users is not None or writers is not None)):
            tls = TlsFiles.generate()
        self.tls: TlsFiles | None = tls if isinstance(tls, TlsFiles) else None
        """The certificates the child serves (made here, so restarts keep them)."""
        self._python = python or sys.executable
        self._port = port
        self._ports: list[int] | None = None
        self._url: str | None = None
        self._node_urls: list[str] = []
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
        """The connection string the child printed: ``esdb://HOST:PORT?tls=false`` and so on."""
        if self._url is None:
            return f"esdb://{self.host}:{self.port}?tls=false"
        return self._url

    @property
    def node_urls(self) -> list[str]:
        """A cluster's nodes, each on its own (direct connection strings, in gossip order)."""
        return list(self._node_urls)

    @property
    def ca_file(self) -> str:
        """Path of the CA certificate clients must trust (TLS only)."""
        if self.tls is None:
            msg = "this server does not use TLS; create it with tls=True"
            raise RuntimeError(msg)
        return str(self.tls.ca_file)

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
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            self._command(), stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env
        )
        lines = self._read_lines(self._process)
        self._url = lines[0]
        self._node_urls = [
            line.split(": ", 1)[1].rsplit(" ", 1)[0] for line in lines if line.startswith("node-")
        ]
        first = self._node_urls[0] if self._node_urls else self._url
        self._port = _port_of(first)
        if self._node_urls:
            self._ports = [_port_of(url) for url in self._node_urls]
        return self

    def _command(self) -> list[str]:
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
        if self.tls is not None:
            command += ["--tls-dir", str(self.tls.directory)]
        if self.users is not None:
            command += ["--users", ",".join(f"{u}:{p}" for u, p in self.users.items())]
        if self.writers is not None:
            command += ["--writers", ",".join(self.writers)]
        if self.cluster is not None:
            command += ["--cluster", str(self.cluster)]
            if self._ports is not None:
                command += ["--ports", ",".join(map(str, self._ports))]
        return command

    def _expected_lines(self) -> int:
        return 1 + (self.tls is not None) + (self.cluster or 0)

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

    def _read_lines(self, process: subprocess.Popen[str]) -> list[str]:
        """The lines the child prints once it is ready (the URL first)."""
        lines: queue.Queue[list[str]] = queue.Queue()
        stdout = process.stdout
        assert stdout is not None
        expected = self._expected_lines()

        def read() -> None:
            got: list[str] = []
            while len(got) < expected:
                line = stdout.readline()
                if not line:
                    break
                got.append(line.strip())
            lines.put(got)

        reader = threading.Thread(target=read, name="server-process-url", daemon=True)
        reader.start()
        try:
            got = lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            got = []
        if len(got) < expected or not got[0].startswith("esdb://"):
            process.kill()
            process.wait()
            detail = self._stderr_text()
            self._reap()
            msg = f"test server did not start (exit code {process.returncode}): {detail}"
            raise RuntimeError(msg)
        return got

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


def _port_of(url: str) -> int:
    """The port of a single-host connection string (``scheme://[cred@]host:PORT?...``)."""
    return int(url.split("?", 1)[0].rsplit(":", 1)[1])
