"""``plumberd run``: start an unmodified program with its logging attached to the event store.

    plumberd run --url esdb://localhost:2113?tls=false --capture-logs -- python app.py --port 80

The program is started with ``plumberd_logging/_autostart`` first on its ``PYTHONPATH``; its
``sitecustomize`` calls :func:`plumberd_logging.install` before the program's first line (the way
``opentelemetry-instrument`` works). The command *becomes* the program (``exec``), so its exit
code, stdout, stderr and signals are the program's own; the writer flushes at the program's exit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from plumberd_logging.config import URL_VAR

__all__ = ["add_parser", "autostart_dir", "child_environment", "run"]

EXIT_USAGE = 2
EXIT_NOT_FOUND = 127


def autostart_dir() -> str:
    """The directory whose ``sitecustomize.py`` attaches plumberd-logging at start-up."""
    return str(Path(__file__).resolve().parent.parent / "_autostart")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a program with its logging sent to the event store (no code change)",
        description=(
            "Start PROGRAM with plumberd-logging attached to its standard logging: tagged "
            "records (extra={'event_type': ..., 'event_data': ..., 'stream': ...}) become events, "
            "and with --capture-logs every record becomes a LogRecorded event. The program's exit "
            "code, output and signals are its own."
        ),
        epilog="example: plumberd run --url 'esdb://localhost:2113?tls=false' -- python app.py",
    )
    p.add_argument("--url", help=f"connection string (default: ${URL_VAR})")
    p.add_argument("--capture-logs", action="store_true", help="send every log record as an event")
    p.add_argument("--level", help="lowest level sent (default: $PLUMBERD_LEVEL or INFO)")
    p.add_argument("--service", help="service name for Log-{service} (default: the program's name)")
    p.add_argument("program", nargs=argparse.REMAINDER, help="-- the command to run")
    p.set_defaults(handler=run)


def child_environment(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """The environment of the program: ours first on PYTHONPATH, the options as variables."""
    env = dict(environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = autostart_dir() + (os.pathsep + path if path else "")
    if args.url:
        env[URL_VAR] = args.url
    if args.capture_logs:
        env["PLUMBERD_CAPTURE_LOGS"] = "true"
    if args.level:
        env["PLUMBERD_LEVEL"] = args.level
    if args.service:
        env["PLUMBERD_SERVICE"] = args.service
    return env


def run(args: argparse.Namespace) -> int:
    program = list(args.program)
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        print(
            "plumberd run: no program given (plumberd run [options] -- python app.py)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    env = child_environment(args, dict(os.environ))
    if not env.get(URL_VAR):
        print(f"plumberd run: no URL; pass --url or set ${URL_VAR}", file=sys.stderr)
        return EXIT_USAGE
    from plumberd_logging.config import settings_from_env

    try:
        settings_from_env(env)
    except ValueError as exc:
        print(f"plumberd run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    executable = shutil.which(program[0], path=env.get("PATH"))
    if executable is None:
        print(f"plumberd run: {program[0]!r} not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(executable, program, env)  # never returns: the program takes over
    import subprocess  # pragma: no cover - platforms without exec semantics

    return subprocess.call([executable, *program[1:]], env=env)  # pragma: no cover
