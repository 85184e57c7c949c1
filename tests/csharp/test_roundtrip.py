"""Round trip: for every event class in the tests, the examples and the demo, the generated C#
parses without errors under the C# grammar and ``check`` finds it clean against its classes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from plumberd_logging._cli import demo
from plumberd_logging.csharp import check, find_event_classes, render, render_files

from .billing import InvoiceIssued
from .events import EVENTS, NAMESPACE

ROOT = Path(__file__).resolve().parents[2]


def defines_events(path: Path) -> bool:
    """Whether a file defines an ``Event`` subclass at module level (not in a string)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id == "Event" for b in node.bases)
        for node in tree.body
    )


#: Every file of the tests and examples that defines an Event subclass at module level.
SOURCES = sorted(
    str(p.relative_to(ROOT))
    for folder in ("tests", "examples")
    for p in (ROOT / folder).rglob("*.py")
    if defines_events(p)
)


def test_the_sources_cover_the_tests_and_the_examples() -> None:
    assert "examples/emits_example.py" in SOURCES
    assert "tests/core/golden.py" in SOURCES
    assert "tests/csharp/events.py" in SOURCES
    assert len(SOURCES) >= 20


def clean(findings: list[Any], classes: list[type]) -> list[Any]:
    """Findings other than the expected one for a generic event type (not a C# identifier)."""
    generic = {getattr(c, "__event_type__", "") for c in classes} - {""}
    generic = {name for name in generic if "<" in name}
    return [f for f in findings if not (f.kind == "unchecked" and f.event_type in generic)]


def assert_round_trip(classes: list[type], cs_parser: Any, **options: Any) -> None:
    text = render(classes, **options)
    tree = cs_parser.parse(text.encode())
    assert not tree.root_node.has_error, text
    findings = check(classes, {"Generated.cs": text}, log_records=options.get("log_records", False))
    assert clean(findings, classes) == []


@pytest.mark.parametrize("source", SOURCES)
def test_round_trip_for_a_test_or_example_module(source: str, cs_parser: Any) -> None:
    classes = find_event_classes(str(ROOT / source))
    assert classes, f"no event classes found in {source}"
    assert_round_trip(classes, cs_parser)
    assert_round_trip(classes, cs_parser, namespace="Acme.Events", log_records=True)


def test_round_trip_for_the_demo(cs_parser: Any) -> None:
    assert_round_trip(list(demo.EVENTS), cs_parser, namespace=demo.NAMESPACE, log_records=True)


def test_round_trip_across_namespaces_and_files(cs_parser: Any) -> None:
    classes = [*EVENTS, InvoiceIssued]
    assert_round_trip(classes, cs_parser)  # block namespaces in one file
    files = render_files(classes, namespace=None)
    for text in files.values():
        assert not cs_parser.parse(text.encode()).root_node.has_error
    assert clean(check(classes, files), classes) == []
    assert_round_trip(list(EVENTS), cs_parser, namespace=NAMESPACE)
