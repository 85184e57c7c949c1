"""``plumberd csharp TARGET...``: the C# records that read a Python service's events.

    $ plumberd csharp myapp.events                      # C# on stdout
    $ plumberd csharp myapp --out ../dotnet/Events      # one file per namespace
    $ plumberd csharp app/events.py myapp.orders:OrderPlaced --namespace Acme.Orders.Events

A TARGET is a module or package import path (every ``Event`` subclass defined in it and its
submodules), a ``path/to/file.py``, or ``module:Class``. The text is what
:func:`plumberd_logging.csharp.render` gives: deterministic, so a CI job can diff it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    command,
    exit_codes_help,
)

__all__ = ["add_parser", "csharp", "load_classes"]

EPILOG = f"""examples:
  plumberd csharp myapp.events                          # the records, on stdout
  plumberd csharp myapp --out ../dotnet/Events          # one .cs file per namespace
  plumberd csharp src/myapp/events.py --namespace Acme.Recording.Events
  plumberd csharp myapp.events:OrderPlaced --log-records

{
    exit_codes_help(
        Exit.OK,
        Exit.FAILURE,
        Exit.USAGE,
        Exit.NOT_FOUND,
        notes={
            Exit.FAILURE: "no event classes in the targets, a target failed to import, or two "
            "classes would be one C# type",
            Exit.USAGE: "usage error: bad arguments (e.g. --namespace)",
            Exit.NOT_FOUND: "not found: a TARGET module, file or class",
        },
    )
}"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "csharp",
        help="write the C# records that read your events (MicroPlumberd, System.Text.Json)",
        description=(
            "Write C# records for every Event subclass in the targets: names exactly as "
            "the wire writes them, Guid Id, nested types as their own records, IntEnums as C# "
            "enums, and a namespace or [OutputStream] that gives MicroPlumberd the same "
            "category. Deterministic output, to stdout or one file per namespace."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_target_arguments(p)
    p.add_argument(
        "--namespace",
        metavar="NS",
        help="put every type in this C# namespace (default: one per Python module, "
        "myapp.events -> Myapp.Events)",
    )
    p.add_argument("--out", metavar="DIR", help="write one NAMESPACE.cs file per namespace here")
    p.set_defaults(handler=csharp)


def add_target_arguments(p: argparse.ArgumentParser) -> None:
    """TARGET... and --log-records, shared with ``plumberd contract check``."""
    p.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="a module or package (myapp.events), a file (src/myapp/events.py), or module:Class",
    )
    p.add_argument(
        "--log-records",
        action="store_true",
        help="add LogRecorded and LoggedException, the events captured log lines become",
    )


def load_classes(targets: list[str]) -> list[type]:
    """The event classes of all targets, in order; errors become exit codes."""
    from plumberd_logging.csharp import TargetError, find_event_classes

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: modules of the current directory
    classes: list[type] = []
    for target in targets:
        try:
            found = find_event_classes(target)
        except TargetError as exc:
            raise CommandError(
                Exit.NOT_FOUND if exc.not_found else Exit.FAILURE, str(exc)
            ) from None
        if not found:
            raise CommandError(
                Exit.FAILURE,
                f"{target}: no Event subclasses defined there",
                "name a module that defines events, a .py file, or module:Class",
            )
        classes += [c for c in found if c not in classes]
    return classes


@command("csharp")
def csharp(args: argparse.Namespace) -> int:
    from plumberd_logging.csharp import render, render_files

    classes = load_classes(args.targets)
    try:
        if args.out is None:
            sys.stdout.write(
                render(classes, namespace=args.namespace, log_records=args.log_records)
            )
            return Exit.OK
        files = render_files(classes, namespace=args.namespace, log_records=args.log_records)
    except TypeError as exc:
        raise CommandError(Exit.FAILURE, str(exc)) from None
    except ValueError as exc:
        code = Exit.USAGE if str(exc).startswith("namespace") else Exit.FAILURE
        raise CommandError(code, str(exc)) from None
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
            print(f"wrote {out / name}")
    except OSError as exc:
        raise CommandError(Exit.FAILURE, f"--out {args.out}: {exc.strerror or exc}") from None
    return Exit.OK
