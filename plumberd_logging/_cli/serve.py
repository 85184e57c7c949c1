"""``plumberd serve``: the in-process EventStoreDB/KurrentDB in the foreground, for development.

    $ plumberd serve --port 2113
    esdb://127.0.0.1:2113?tls=false
    plumberd serve: in-memory EventStoreDB/KurrentDB for development ...

    $ plumberd serve --tls --users admin:changeit,reader:pw --writers admin --cluster 3
    esdb://admin:changeit@127.0.0.1:2113,127.0.0.1:2114,127.0.0.1:2115?tls=true&tlsCAFile=...
    ca-file: /tmp/plumberd-tls-.../ca.pem
    node-0: esdb://admin:changeit@127.0.0.1:2113?tls=true&tlsCAFile=... Leader
    node-1: ...

The first stdout line is the connection URL (scripts read it), then with TLS ``ca-file: PATH``,
then with ``--cluster`` one ``node-I: URL STATE`` line per node; notes go to stderr (URLs masked
there). It serves :class:`plumberd_logging.testing.InMemoryEventStore` (or an
:class:`~plumberd_logging.testing.InMemoryCluster`) until Ctrl-C or SIGTERM, then exits 0; in a
cluster SIGUSR1 moves the leadership to the next running node. The data lives in memory and is
gone when it stops. The stdout URL is the one place a password is printed: the development
server's own, given on this command line, so that a script can connect with it.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    command,
    exit_codes_help,
    plural,
    quiet_grpc,
    shown,
)

if TYPE_CHECKING:
    from plumberd_logging.testing import InMemoryCluster, InMemoryEventStore, TlsFiles

__all__ = ["add_parser", "serve"]

DEFAULT_MAX_APPEND_SIZE = 1_048_576  # KurrentDB's MaxAppendSize default

EPILOG = f"""examples:
  plumberd serve                      # esdb://127.0.0.1:2113?tls=false
  plumberd serve --port 0             # any free port; the URL is the first stdout line
  plumberd serve --host 0.0.0.0       # reachable from other machines (no TLS, no users)
  plumberd serve --tls                # TLS (a CA made for the run) and the user admin:changeit
  plumberd serve --tls-dir ./tls --users admin:changeit,reader:pw --writers admin
  plumberd serve --cluster 3 --port 2113   # nodes on 2113-2115; kill -USR1 PID: new leader

{
    exit_codes_help(
        Exit.OK,
        Exit.FAILURE,
        Exit.USAGE,
        Exit.BUSY,
        notes={
            Exit.OK: "stopped by Ctrl-C or SIGTERM",
            Exit.FAILURE: "the server could not start",
            Exit.BUSY: "the port is in use (another server?); --port 0 picks a free one",
        },
    )
}"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run an in-memory EventStoreDB/KurrentDB for local development",
        description=(
            "Serve the in-process, protocol-faithful EventStoreDB/KurrentDB test server of "
            "plumberd_logging.testing until Ctrl-C or SIGTERM. Real clients (C# and Python) "
            "talk to it over gRPC. Data is kept in memory only. The connection URL is printed "
            "on the first line of stdout."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=2113, help="TCP port; 0 picks a free one (default: %(default)s)"
    )
    p.add_argument(
        "--max-append-size",
        type=int,
        default=DEFAULT_MAX_APPEND_SIZE,
        metavar="BYTES",
        help="largest append the server accepts (default: %(default)s, as KurrentDB)",
    )
    p.add_argument(
        "--tls",
        action="store_true",
        help="serve TLS with a CA and certificate made for this run (the URL names the CA file)",
    )
    p.add_argument(
        "--tls-dir",
        metavar="DIR",
        help="keep the CA and certificate in DIR, reused by later runs (implies --tls)",
    )
    p.add_argument(
        "--users",
        metavar="USER:PW[,USER:PW...]",
        help="users and passwords (implies --tls; default with TLS: admin:changeit); the URL "
        "printed is for the first",
    )
    p.add_argument(
        "--writers",
        metavar="USER[,USER...]",
        help="the users who may write (default: every user); the others may only read",
    )
    p.add_argument(
        "--cluster",
        type=int,
        metavar="N",
        help="N nodes sharing one store, on --port, --port+1, ...; node 0 leads",
    )
    p.set_defaults(handler=serve)


def build_server(args: argparse.Namespace) -> InMemoryEventStore | InMemoryCluster:
    """The (not yet started) server, or cluster, the options describe."""
    nodes = args.cluster if args.cluster is not None else 1
    if args.cluster is not None and not 1 <= args.cluster <= 9:
        raise CommandError(Exit.USAGE, f"--cluster: expected 1..9 nodes, got {args.cluster}")
    if not 0 <= args.port <= 65535:
        raise CommandError(Exit.USAGE, f"--port: expected 0..65535, got {args.port}")
    if args.port and args.port + nodes - 1 > 65535:
        raise CommandError(
            Exit.USAGE,
            f"--port {args.port}: {nodes} nodes need ports {args.port}..{args.port + nodes - 1}, "
            f"past 65535; use --port {65535 - nodes + 1} or lower (or --port 0 for free ports)",
        )
    if args.max_append_size < 1:
        raise CommandError(Exit.USAGE, "--max-append-size: expected a positive number of bytes")
    users = _users(args.users) if args.users else None
    writers = _names(args.writers, "--writers") if args.writers else None
    if writers is not None and users is None:
        users = {"admin": "changeit"}
    secure = bool(args.tls or args.tls_dir or users)
    options: dict[str, Any] = {"host": args.host, "max_append_size": args.max_append_size}
    if secure:
        options.update(tls=_tls_files(args), users=users, writers=writers)
    from plumberd_logging.testing import InMemoryCluster, InMemoryEventStore

    try:
        if args.cluster is not None:
            ports = [args.port + i if args.port else 0 for i in range(nodes)]
            return InMemoryCluster(nodes, ports=ports, **options)
        return InMemoryEventStore(args.port, **options)
    except ValueError as exc:  # e.g. --writers names an unknown user
        raise CommandError(Exit.USAGE, str(exc)) from None


def _users(text: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for item in text.split(","):
        name, colon, password = item.strip().partition(":")
        if not item.strip():
            continue
        if not colon or not name or not password:  # never echo what may be a password
            raise CommandError(
                Exit.USAGE,
                "--users: expected USER:PASSWORD[,USER:PASSWORD...] (an item has no user, "
                "no password or no ':')",
            )
        if any(c in name + password for c in "@/?#,"):
            raise CommandError(
                Exit.USAGE, f"--users: {name!r}: names and passwords cannot contain @ / ? # ,"
            )
        users[name] = password
    if not users:
        raise CommandError(Exit.USAGE, "--users: expected USER:PASSWORD[,USER:PASSWORD...]")
    return users


def _names(text: str, option: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise CommandError(Exit.USAGE, f"{option}: expected USER[,USER...]")
    return names


def _tls_files(args: argparse.Namespace) -> TlsFiles:
    """The certificates: from --tls-dir (made there first if missing), else made for this run.

    The server certificate names localhost and 127.0.0.1, plus --host and, when listening on
    every address, this machine's name.
    """
    from plumberd_logging.testing import DEFAULT_TLS_HOSTS, TlsFiles

    hosts = list(DEFAULT_TLS_HOSTS)
    extra = [socket.gethostname()] if args.host in ("0.0.0.0", "::", "") else [args.host]
    hosts += [h for h in extra if h and h not in hosts]
    try:
        if args.tls_dir:
            return TlsFiles.load_or_generate(args.tls_dir, hosts=hosts)
        return TlsFiles.generate(hosts=hosts)
    except (OSError, ValueError) as exc:
        raise CommandError(Exit.FAILURE, f"cannot make the TLS certificates: {exc}") from None


def _check_address(host: str, port: int) -> None:
    """Fail with a clear reason before gRPC tries (its own error text says little)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(Exit.USAGE, f"--host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    Exit.BUSY,
                    f"cannot listen on {host}:{port}: the port is in use",
                    "is another server running there? --port 0 picks a free port",
                ) from None
            raise CommandError(
                Exit.FAILURE, f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None


@command("serve")
def serve(args: argparse.Namespace) -> int:
    quiet_grpc()
    server = build_server(args)
    stopped = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    nodes = args.cluster or 1
    if args.port:
        for i in range(nodes):
            _check_address(args.host, args.port + i)
    else:
        _check_address(args.host, 0)
    signals = [signal.SIGINT, signal.SIGTERM]
    previous = {sig: signal.signal(sig, request_stop) for sig in signals}
    if args.cluster is not None and hasattr(signal, "SIGUSR1"):
        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, _elector(server))
    try:
        try:
            server.start()
        except OSError as exc:
            server.stop()
            raise CommandError(Exit.FAILURE, f"the server could not start: {exc}") from None
        try:
            for line in _stdout_lines(server):
                print(line, flush=True)
            print(_note(server), file=sys.stderr, flush=True)
            stopped.wait()
        finally:
            streams = len(server.database.streams())
            events = len(server.database.all_events())
            server.stop()
        print(
            f"plumberd serve: stopped; {plural(events, 'event')} in "
            f"{plural(streams, 'stream')} discarded",
            file=sys.stderr,
        )
        return Exit.OK
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stdout_lines(server: InMemoryEventStore | InMemoryCluster) -> list[str]:
    """The URL (with the dev server's own credentials), the CA file, one line per node."""
    from plumberd_logging.testing import InMemoryCluster

    lines = [server.url]
    if server.tls is not None:
        lines.append(f"ca-file: {server.ca_file}")
    if isinstance(server, InMemoryCluster):
        lines += [f"node-{i}: {node.url} {node.state}" for i, node in enumerate(server.nodes)]
    return lines


def _note(server: InMemoryEventStore | InMemoryCluster) -> str:
    from plumberd_logging.testing import InMemoryCluster

    kind = "in-memory EventStoreDB/KurrentDB for development"
    if isinstance(server, InMemoryCluster):
        kind += f", a {len(server.nodes)}-node cluster (kill -USR1 {os.getpid()}: next leader)"
    if server.tls is None:
        security = "no TLS, no users"
    else:
        assert server.access is not None
        users = ", ".join(sorted(server.access.users))
        security = f"TLS, users {users}; {shown(server.url)}"
    return f"plumberd serve: {kind} ({security}; data is lost when it stops). Ctrl-C to stop."


def _elector(cluster: Any) -> Callable[[int, FrameType | None], None]:
    """SIGUSR1: the next running node leads (a failover to watch clients ride through)."""

    def elect(signum: int, frame: FrameType | None) -> None:
        current = cluster.leader_index or 0
        nodes = len(cluster.nodes)
        for step in range(1, nodes + 1):
            index = (current + step) % nodes
            if cluster.nodes[index].is_running:
                cluster.elect(index)
                print(f"plumberd serve: node-{index} leads now", file=sys.stderr, flush=True)
                return

    return elect
