"""The ``plumberd`` command (also ``python -m plumberd_logging``).

    plumberd demo                 # see it work: an embedded server, events as C# reads them
    plumberd run -- python app.py # attach an unmodified program's logging
    plumberd --help               # every command, with its exit codes

Each subcommand lives in its own module under ``plumberd_logging/_cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from plumberd_logging._accel import speedups
from plumberd_logging._cli._common import Exit, exit_codes_help
from plumberd_logging._version import __version__

__all__ = ["main"]

#: Subcommand modules, each with ``add_parser(subparsers)`` setting ``handler`` to a
#: ``(args) -> exit code`` function.
COMMANDS = ("demo", "run", "serve", "tail", "check", "spool", "csharp", "contract")

EPILOG = (
    exit_codes_help(
        *Exit, title="exit codes (the same in every command; each command's --help lists its own):"
    )
    + "\n`plumberd run` otherwise exits with the program's own code."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plumberd",
        description="Publish Python events and logs to EventStoreDB/KurrentDB for MicroPlumberd.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build = "C accelerator" if speedups is not None else "pure Python"
    parser.add_argument(
        "--version", action="version", version=f"plumberd-logging {__version__} ({build})"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        qualified = f"plumberd_logging._cli.{name}"
        try:
            module = import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:  # a broken import inside the module: say so
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``plumberd`` command; returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
