"""The committed performance tables are what ``benchmarks/report.py`` renders from the committed
``benchmarks/results.json`` (so no page carries figures that no saved run produced)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("perf_report", ROOT / "benchmarks" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["benchmarks/README.md", "docs/performance.md"])
def test_committed_tables_equal_what_the_report_renders(page: str) -> None:
    report = _report()
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    rendered = report.render(results)
    assert report.section((ROOT / page).read_text(encoding="utf-8")) == rendered
    assert "not run" not in rendered


def test_rendering_shows_each_goal_and_the_load() -> None:
    report = _report()
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    rendered = report.render(results)
    for label, *_ in report.ENTRY_ROWS:
        assert label in rendered
    assert "load (1 min)" in rendered
    assert "python benchmarks/bench_writer.py" in rendered
    assert ", probe " in rendered  # how fast the machine was, next to each command
