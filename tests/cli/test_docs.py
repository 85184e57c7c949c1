"""The documentation of the ``plumberd`` command (docs/cli.md) stays true: commands, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

from plumberd_logging._cli._common import Exit
from plumberd_logging.cli import COMMANDS, EPILOG, build_parser

SECTION = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def test_every_command_is_installed_and_in_the_cli_page_table() -> None:
    parser = build_parser()
    listed = parser.format_help()
    for name in COMMANDS:
        assert f"    {name} " in listed, f"plumberd {name} is not registered"
        assert re.search(rf"^\| `plumberd {name}[ `]", SECTION, re.M), f"{name} not in docs/cli.md"


def test_exit_codes_match_the_cli_page_and_plumberd_help() -> None:
    documented = dict(re.findall(r"^\| (\d+) \| (.+) \|$", SECTION, re.M))
    assert {int(code) for code in documented} == {int(code) for code in Exit}
    for code in Exit:
        assert re.search(rf"^ +{int(code)}  ", EPILOG, re.M), f"exit {int(code)} not in --help"
