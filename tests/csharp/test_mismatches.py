"""A C# file seeded with one drift of each kind: each is reported once, with the property, both
types and what C# does; ``plumberd contract check`` exits 1."""

from __future__ import annotations

import json
from pathlib import Path

from plumberd_logging.csharp import Finding, check

from .contract_events import ParcelReturned, ParcelShipped
from .helpers import plumberd

SEEDED = Path(__file__).parent / "seeded"
EVENTS_FILE = str(Path(__file__).parent / "contract_events.py")

#: (severity, kind, property, Python type, C# type, words of the consequence)
EXPECTED = [
    ("warning", "category", None, "category Shipping", "category Logistics",
     'add [OutputStream("Shipping")]'),
    ("error", "type", "ParcelId", "str", "Guid", "for every value that is not a GUID"),
    ("error", "type", "Weight", "float", "int", "for any value with a fraction"),
    ("error", "type", "Price", "Decimal", "string", "C# string does not read a JSON number"),
    ("error", "enum", "Level", "Level", "Level", "HIGH is written as 2 and reads as 2, a value"),
    ("error", "type", "Eta", "timedelta", "DateTime", "(a TimeSpan) is not a DateTime"),
    ("error", "null", "NoteCount", "int | None", "int", "JsonException when Python writes None"),
    ("error", "case", "CarrierId", "str", "string", 'writes "CarrierId", C# reads "CarrierID"'),
    ("warning", "not-read", "Comment", "str", None, "data ignored"),
    ("error", "not-written", "Warehouse", None, "string", "reads as null: no Python field writes"),
]  # fmt: skip


def test_each_seeded_mismatch_is_reported_once_with_types_and_consequence() -> None:
    findings = check([ParcelShipped, ParcelReturned], [SEEDED])
    shipped = [f for f in findings if f.event_type == "ParcelShipped"]
    assert len(shipped) == len(EXPECTED)
    for f, (severity, kind, prop, py, cs, words) in zip(shipped, EXPECTED, strict=True):
        assert (f.severity, f.kind, f.property, f.python_type, f.csharp_type) == (
            severity,
            kind,
            prop,
            py,
            cs,
        )
        assert words in f.consequence
        assert f.where is not None
        assert f.where.startswith(str(SEEDED / "Mismatches.cs") + ":")
    [returned] = [f for f in findings if f.event_type == "ParcelReturned"]
    assert (returned.severity, returned.kind) == ("error", "no-record")
    assert "no C# type named ParcelReturned" in returned.consequence
    assert len(findings) == len(EXPECTED) + 1


def test_the_line_of_each_finding_is_the_csharp_declaration() -> None:
    lines = (SEEDED / "Mismatches.cs").read_text().splitlines()
    for f in check([ParcelShipped], [SEEDED]):
        assert f.where is not None
        line = lines[int(f.where.rsplit(":", 1)[1]) - 1]
        if f.kind in ("type", "enum", "null", "not-written"):
            assert f" {f.property}" in line
        if f.kind == "case":
            assert "CarrierID" in line


def test_the_command_exits_1_and_prints_each_finding() -> None:
    done = plumberd("contract", "check", EVENTS_FILE, "--cs", str(SEEDED))
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert out.splitlines()[0].split() == ["SEVERITY", "PROPERTY", "PYTHON", "C#", "CONSEQUENCE"]
    for _, _, prop, _, _, words in EXPECTED:
        row = next(line for line in out.splitlines() if words in line)
        if prop:
            assert f"ParcelShipped.{prop} " in row
    assert "ParcelReturned" in out
    assert out.rstrip().endswith("contract check: 9 errors, 2 warnings (2 event types, 1 C# file)")


def test_json_output_carries_every_finding() -> None:
    done = plumberd("contract", "check", EVENTS_FILE, "--cs", str(SEEDED), "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert (report["errors"], report["warnings"]) == (9, 2)
    assert report["event_types"] == ["ParcelShipped", "ParcelReturned"]
    assert report["cs_files"] == [str(SEEDED / "Mismatches.cs")]
    expected = [f.as_dict() for f in check([ParcelShipped, ParcelReturned], [SEEDED])]
    assert report["findings"] == expected
    assert set(expected[0]) == {f.name for f in Finding.__dataclass_fields__.values()}
