"""``python -m plumberd_logging.testing``: serve the in-process test server until stopped.

Prints the connection URL on stdout once it listens, then serves until SIGINT or SIGTERM::

    $ python -m plumberd_logging.testing --port 2113
    esdb://127.0.0.1:2113?tls=false

With ``--tls`` (and ``--users``) the URL carries credentials and the CA file, which is also
printed on a line of its own; with ``--cluster N`` the URL lists every node and a line per node
follows::

    $ python -m plumberd_logging.testing --tls --users admin:changeit,reader:pw --cluster 3
    esdb://admin:changeit@127.0.0.1:P0,127.0.0.1:P1,127.0.0.1:P2?tls=true&tlsCAFile=/tmp/.../ca.pem
    ca-file: /tmp/.../ca.pem
    node-0: esdb://admin:changeit@127.0.0.1:P0?tls=true&tlsCAFile=/tmp/.../ca.pem Leader
    node-1: ...
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Protocol

from plumberd_logging.testing._runtime import DEFAULT_MAX_APPEND_SIZE

__all__ = ["main", "parse_users"]


def parse_users(text: str) -> dict[str, str]:
    """``"admin:changeit,reader:pw"`` -> ``{"admin": "changeit", "reader": "pw"}``."""
    users: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, colon, password = item.strip().partition(":")
        if not colon or not name or not password:
            msg = f"expected USER:PASSWORD, got {name or item.strip()!r}:..."
            raise argparse.ArgumentTypeError(msg)
        users[name] = password
    if not users:
        msg = "expected USER:PASSWORD[,USER:PASSWORD...]"
        raise argparse.ArgumentTypeError(msg)
    return users


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _ports(text: str) -> list[int]:
    try:
        return [int(port) for port in _names(text)]
    except ValueError:
        msg = f"expected PORT,PORT,..., got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m plumberd_logging.testing",
        description="Serve an in-memory, protocol-faithful EventStoreDB/KurrentDB test server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=2113,
        help="TCP port; 0 picks a free one (a cluster uses PORT, PORT+1, ...)",
    )
    parser.add_argument(
        "--ports", type=_ports, default=None, help="a cluster's ports, one per node (P0,P1,...)"
    )
    parser.add_argument(
        "--max-append-size",
        type=int,
        default=DEFAULT_MAX_APPEND_SIZE,
        help="largest append in bytes (KurrentDB's MaxAppendSize)",
    )
    parser.add_argument(
        "--tls", action="store_true", help="serve TLS with a certificate made for this run"
    )
    parser.add_argument(
        "--tls-dir",
        default=None,
        help="keep the CA and certificate files here (reused if present; implies --tls)",
    )
    parser.add_argument(
        "--users",
        type=parse_users,
        default=None,
        help="USER:PASSWORD,... (implies --tls; default with TLS: admin:changeit)",
    )
    parser.add_argument(
        "--writers", type=_names, default=None, help="USER,... who may write (default: all)"
    )
    parser.add_argument(
        "--cluster", type=int, default=None, metavar="N", help="serve N nodes sharing one store"
    )
    parser.add_argument(
        "--run-projections",
        choices=("system", "none"),
        default="system",
        help="'none': no $et-/$ce- streams of the system projections (default: system)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server; returns the process exit code."""
    args = _parser().parse_args(argv)
    tls = args.tls_dir if args.tls_dir else bool(args.tls or args.users or args.writers)
    stopped = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        server, lines = _start(args, tls)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        print("\n".join(lines), flush=True)
        while not stopped.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


def _start(args: argparse.Namespace, tls: bool | str) -> tuple[_Stoppable, list[str]]:
    options = {
        "host": args.host,
        "max_append_size": args.max_append_size,
        "tls": tls,
        "users": args.users,
        "writers": args.writers,
        "system_projections": args.run_projections == "system",
    }
    if args.cluster is None:
        from plumberd_logging.testing._server import InMemoryEventStore

        store = InMemoryEventStore(args.port, **options).start()
        lines = [store.url]
        if store.tls is not None:
            lines.append(f"ca-file: {store.ca_file}")
        return store, lines

    from plumberd_logging.testing._cluster import InMemoryCluster

    size = args.cluster
    ports = args.ports
    if ports is None:
        ports = [args.port + i if args.port else 0 for i in range(size)]
    cluster = InMemoryCluster(size, ports=ports, **options).start()
    lines = [cluster.url]
    if cluster.tls is not None:
        lines.append(f"ca-file: {cluster.ca_file}")
    lines.extend(f"node-{i}: {node.url} {node.state}" for i, node in enumerate(cluster.nodes))
    return cluster, lines


class _Stoppable(Protocol):
    """What :func:`main` needs of a server or a cluster."""

    def stop(self) -> None: ...


if __name__ == "__main__":
    sys.exit(main())
