"""docs/lifecycle.md and the README: every test their lifecycle tables name exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_every_test_named_in_the_lifecycle_table_exists() -> None:
    named = re.findall(r"^\|.*`(tests/[\w/]+\.py)::(test_\w+)` \|$", PAGE, re.M)
    assert len(named) >= 17
    for file, test in named:
        path = ROOT / file
        assert path.is_file(), f"{file} (named in docs/lifecycle.md) does not exist"
        assert test in _tests_in(path), f"{file}::{test} (named in docs/lifecycle.md) is missing"


def test_every_row_of_the_readme_table_names_a_test_that_exists() -> None:
    section = README.split("## How a process ends", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| ") and "---" not in r][1:]
    assert len(rows) >= 5
    for row in rows:
        found = re.search(r"`(tests/[\w/]+\.py)::(test_\w+)` \|$", row)
        assert found, f"README lifecycle row names no test: {row}"
        file, test = found.groups()
        assert test in _tests_in(ROOT / file), f"{file}::{test} (named in README.md) is missing"


def test_every_row_of_the_table_names_a_test() -> None:
    table = [line for line in PAGE.splitlines() if line.startswith("| ") and "---" not in line]
    rows = table[1:]  # after the header
    rows = [r for r in rows if r.count("|") == 4]
    assert rows
    for row in rows:
        assert re.search(r"`tests/[\w/]+\.py::test_\w+` \|$", row), row
