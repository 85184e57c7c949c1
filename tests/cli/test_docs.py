"""The documentation of the ``plumberd`` command stays true: commands and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

from plumberd_logging._cli._common import Exit
from plumberd_logging.cli import COMMANDS, EPILOG, build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## The `plumberd` command") :]
SECTION = SECTION[: SECTION.index("\n## ", 1)]


def test_every_command_is_installed_and_in_the_readme_table() -> None:
    parser = build_parser()
    listed = parser.format_help()
    for name in COMMANDS:
        assert f"    {name} " in listed, f"plumberd {name} is not registered"
        assert re.search(rf"^\| `plumberd {name}[ `]", SECTION, re.M), f"{name} not in README"


def test_exit_codes_match_the_readme_and_plumberd_help() -> None:
    documented = dict(re.findall(r"^\| (\d+) \| (.+) \|$", SECTION, re.M))
    assert {int(code) for code in documented} == {int(code) for code in Exit}
    for code in Exit:
        assert re.search(rf"^ +{int(code)}  ", EPILOG, re.M), f"exit {int(code)} not in --help"
