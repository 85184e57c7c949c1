"""The C# records the documentation shows are the ones ``plumberd demo`` prints.

``LogRecorded``/``LoggedException`` must equal the demo's text; any other record must be what the
demo's generator makes from the Python class of that name defined in the page's python blocks.
Both come from one generator, ``plumberd_logging.csharp.render``, which the demo prints too.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from plumberd_logging.csharp import render

from .blocks import ROOT, blocks_of, documentation_files

#: Pages other helpers own; their C# is checked by their own tests.
NOT_OURS = {"lifecycle.md", "correlation.md", "server.md", "csharp.md", "performance.md"}
PAGES = [p for p in documentation_files() if p.name not in NOT_OURS]
#: What captured log lines read as in C#: ``LogRecorded`` and ``LoggedException``.
LOG_RECORDS = render([], log_records=True)
_RECORD = re.compile(r"public record (\w+)\((.*?)\);", re.S)


def _records(text: str) -> dict[str, str]:
    """``{name: the positional record declaration, whitespace normalised}``."""
    return {m[1]: re.sub(r"\(\s+", "(", " ".join(m[0].split())) for m in _RECORD.finditer(text)}


def _python_classes(path: Path) -> dict[str, Any]:
    """The classes the page's python blocks define (blocks that need no server are run)."""
    module = types.ModuleType(f"docs_page_{path.stem.replace('-', '_')}")
    sys.modules[module.__name__] = module  # typing.get_type_hints looks the module up
    namespace = module.__dict__
    for block in blocks_of(path):
        if block.lang != "python" or "localhost:2113" in block.code or block.skip_reason:
            continue
        if "class " not in block.code:
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(block.code, block.name, "exec"), namespace)
    return {k: v for k, v in namespace.items() if isinstance(v, type)}


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_csharp_records_are_what_plumberd_demo_generates(path: Path) -> None:
    shown: dict[str, str] = {}
    for block in blocks_of(path):
        if block.lang == "csharp":
            shown.update(_records(block.code))
    if not shown:
        return
    expected = _records(LOG_RECORDS)
    classes = _python_classes(path)
    for name, record in shown.items():
        if name in expected:
            assert record == expected[name], f"{path.name}: {name} differs from plumberd demo"
        else:
            assert name in classes, f"{path.name}: record {name} has no Python class on the page"
            generated = _records(render([classes[name]]))[name]
            assert record == generated, f"{path.name}: {name}"


def test_the_log_record_is_shown_on_the_csharp_page() -> None:
    page = (ROOT / "docs" / "csharp-side.md").read_text(encoding="utf-8")
    assert set(_records(LOG_RECORDS)) <= set(_records(page))
