"""The README and the configuration page stay true.

docs/configuration.md lists every variable the library reads, with its default; the README's
first command is the demo and its test command the one CI runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from plumberd_logging.config import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_environment_variable_is_documented_with_its_default() -> None:
    for var in ENVIRONMENT:
        row = re.search(rf"^\| `{var.name}` \| `{var.option}` \| ([^|]+) \|", CONFIGURATION, re.M)
        assert row is not None, f"{var.name} is missing from docs/configuration.md"
        assert row.group(1).strip() == var.default


def test_no_variable_is_documented_that_the_library_does_not_read() -> None:
    documented = set(re.findall(r"^\| `(PLUMBERD_[A-Z_]+)` \|", CONFIGURATION, re.M))
    assert documented == {var.name for var in ENVIRONMENT}


def test_the_first_command_is_the_demo_and_the_tests_command_is_the_ci_one() -> None:
    first_block = re.search(r"## Run the demo\s+```bash\n(.+?)\n", README, re.S)
    assert first_block is not None
    assert first_block.group(1).startswith("plumberd demo")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in README
    assert "python -m pytest" in ci
