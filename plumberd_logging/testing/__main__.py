"""``python -m plumberd_logging.testing``: serve the in-process test server until stopped.

Prints the connection URL on stdout once it listens, then serves until SIGINT or SIGTERM::

    $ python -m plumberd_logging.testing --port 2113
    esdb://127.0.0.1:2113?tls=false
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from plumberd_logging.testing._runtime import DEFAULT_MAX_APPEND_SIZE
from plumberd_logging.testing._server import InMemoryEventStore

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the server; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m plumberd_logging.testing",
        description="Serve an in-memory, protocol-faithful EventStoreDB/KurrentDB test server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2113, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--max-append-size",
        type=int,
        default=DEFAULT_MAX_APPEND_SIZE,
        help="largest append in bytes (KurrentDB's MaxAppendSize)",
    )
    args = parser.parse_args(argv)

    stopped = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        server = InMemoryEventStore(
            args.port, host=args.host, max_append_size=args.max_append_size
        ).start()
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        print(server.url, flush=True)
        while not stopped.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
