"""``plumberd contract check TARGET... --cs PATH...``: does the C# side read what Python writes?

    $ plumberd contract check myapp.events --cs ../dotnet/Events
    SEVERITY  PROPERTY           PYTHON   C#      CONSEQUENCE
    error     OrderPlaced.Total  Decimal  string  throws JsonException: C# string does not ...
    contract check: 1 error, 0 warnings (3 event types, 4 C# files)

Errors (exit 1) are what System.Text.Json reads as null/0 or throws on; warnings (exit 0, 1
with ``--strict``) lose data quietly or cannot be checked. ``--json`` prints one object with
``ok``, ``errors``, ``warnings``, ``event_types``, ``cs_files`` and ``findings`` (each with
``severity``, ``kind``, ``event_type``, ``property``, ``python_type``, ``csharp_type``,
``consequence``, ``where``). Reading C# needs the ``[csharp]`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from plumberd_logging._cli._common import (
    CommandError,
    Exit,
    HelpFormatter,
    command,
    exit_codes_help,
    plural,
)
from plumberd_logging._cli.csharp import add_target_arguments, load_classes

__all__ = ["add_parser", "contract_check", "format_table"]

EPILOG = f"""examples:
  plumberd contract check myapp.events --cs ../dotnet/Events
  plumberd contract check myapp --cs Events/Orders.cs --cs Events/Tasks.cs --strict
  plumberd contract check myapp.events --cs ../dotnet/Events --json | jq '.findings[]'

{
    exit_codes_help(
        Exit.OK,
        Exit.FAILURE,
        Exit.USAGE,
        Exit.NOT_FOUND,
        notes={
            Exit.OK: "the C# records read every event correctly (warnings allowed, "
            "unless --strict)",
            Exit.FAILURE: "errors found (or warnings with --strict); a target failed to import",
            Exit.USAGE: "usage error: bad arguments, or the [csharp] extra is not installed "
            '(pip install "plumberd-logging[csharp]")',
            Exit.NOT_FOUND: "not found: a TARGET, or a --cs file or directory",
        },
    )
}"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "contract",
        help="check that C# records read what the Python events write",
        description="Check the contract between Python events and the C# records that read them.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.set_defaults(handler=_usage(p))
    sub = p.add_subparsers(title="commands", metavar="COMMAND")
    c = sub.add_parser(
        "check",
        help="compare event classes with C# sources",
        description=(
            "Parse the C# sources (records, classes, enums; tree-sitter) and report, per "
            "event type, everything System.Text.Json would read silently wrong: missing or "
            "extra properties, names that differ only in case, types it cannot convert, "
            "None into a non-nullable value, enum values that differ, event types with no C# "
            "record."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    add_target_arguments(c)
    c.add_argument(
        "--cs",
        required=True,
        action="extend",
        nargs="+",
        metavar="FILE_OR_DIR",
        help="C# files, or directories searched for *.cs (bin/ and obj/ skipped)",
    )
    c.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    c.add_argument("--json", action="store_true", help="one JSON object, for tools")
    c.set_defaults(handler=contract_check)


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return Exit.USAGE

    return show


def format_table(findings: list[object]) -> str:
    """Findings as aligned columns: severity, property, Python type, C# type, consequence."""
    from plumberd_logging.csharp import Finding

    rows = [("SEVERITY", "PROPERTY", "PYTHON", "C#", "CONSEQUENCE")]
    for f in findings:
        assert isinstance(f, Finding)
        subject = f.event_type + (f".{f.property}" if f.property else "")
        where = f" ({f.where})" if f.where else ""
        rows.append(
            (f.severity, subject, f.python_type or "-", f.csharp_type or "-", f.consequence + where)
        )
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(4)]
    lines = []
    for r in rows:
        cells = [r[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, r[4]]).rstrip())
    return "\n".join(lines)


@command("contract check")
def contract_check(args: argparse.Namespace) -> int:
    from plumberd_logging.csharp import MissingParser, contract
    from plumberd_logging.csharp._check import check_contract
    from plumberd_logging.csharp._parse import parse_sources

    classes = load_classes(args.targets)
    try:
        sources = parse_sources(args.cs)
        findings = check_contract(contract(classes, log_records=args.log_records), sources)
    except MissingParser as exc:
        raise CommandError(Exit.USAGE, str(exc)) from None
    except FileNotFoundError as exc:
        raise CommandError(Exit.NOT_FOUND, str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise CommandError(Exit.FAILURE, str(exc)) from None
    files = sources.files
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    failed = errors > 0 or (args.strict and warnings > 0)
    types = [getattr(c, "__event_type__", c.__name__) for c in classes]
    if args.log_records:
        types.append("LogRecorded")
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not failed,
                    "errors": errors,
                    "warnings": warnings,
                    "event_types": types,
                    "cs_files": files,
                    "findings": [f.as_dict() for f in findings],
                },
                indent=2,
            )
        )
        return Exit.FAILURE if failed else Exit.OK
    checked = f"{plural(len(types), 'event type')}, {plural(len(files), 'C# file')}"
    if findings:
        print(format_table(list(findings)))
        print(
            f"contract check: {plural(errors, 'error')}, {plural(warnings, 'warning')} ({checked})"
        )
    else:
        print(f"contract check: OK, the C# records read every event ({checked})")
    return Exit.FAILURE if failed else Exit.OK
