"""Helpers for the C# generator and contract tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["GOLDEN", "compare_golden"]

GOLDEN = Path(__file__).parent / "golden"
#: Set to 1 to rewrite the golden files from the current output (then review the diff).
REGENERATE = os.environ.get("PLUMBERD_REGENERATE_GOLDEN") == "1"


def compare_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs (PLUMBERD_REGENERATE_GOLDEN=1 rewrites it)"


@pytest.fixture
def cs_parser() -> object:
    """The tree-sitter C# parser (skips nothing: the [csharp] extra is in the dev extra)."""
    import tree_sitter
    import tree_sitter_c_sharp

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_c_sharp.language()))
