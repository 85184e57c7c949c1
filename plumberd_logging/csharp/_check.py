"""Compare what Python writes with what the C# records read: :class:`Finding` per difference.

    for f in check_contract(contract, parse_sources(["../dotnet/Events"])):
        print(f)   # error   TaskScheduled.Priority: Python Priority, C# string: throws ...

Errors are differences System.Text.Json turns into wrong data or exceptions at read time;
warnings are differences that lose data quietly or cannot be checked.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from plumberd_logging.csharp._model import (
    Contract,
    CsType,
    PyEnum,
    PyRecord,
    category_of_namespace,
    is_identifier,
)
from plumberd_logging.csharp._parse import CsDecl, CsProperty, CsSources

__all__ = ["Finding", "check_contract"]

Severity = Literal["error", "warning"]


@dataclasses.dataclass(frozen=True)
class Finding:
    """One difference between the Python writer and a C# reader.

    ``kind``: ``no-record``, ``case``, ``not-written``, ``not-read``, ``type``, ``null``,
    ``enum``, ``category``, ``attribute``, ``unchecked``, ``syntax``. ``property`` is the JSON
    key path (``Items[].UnitPrice``); ``consequence`` says what C# does (``reads as null``).
    """

    severity: Severity
    kind: str
    event_type: str
    property: str | None
    python_type: str | None
    csharp_type: str | None
    consequence: str
    where: str | None = None  # the C# declaration, file:line

    def __str__(self) -> str:
        subject = self.event_type + (f".{self.property}" if self.property else "")
        types = f"Python {self.python_type or '-'}, C# {self.csharp_type or '-'}"
        where = f" ({self.where})" if self.where else ""
        return f"{self.severity:<7} {subject}: {types}: {self.consequence}{where}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_INTS = {"int", "long", "short", "byte", "sbyte", "uint", "ulong", "ushort", "nint", "nuint"}
_ANY = {"object", "JsonElement", "JsonNode", "JsonObject", "JsonValue", "dynamic", "ExpandoObject"}
_VALUE = _INTS | {
    "double",
    "float",
    "decimal",
    "bool",
    "char",
    "Guid",
    "DateTimeOffset",
    "DateTime",
    "DateOnly",
    "TimeOnly",
    "TimeSpan",
}
_EXPECTED = {
    "string": "string",
    "Guid": "guid",
    "DateTimeOffset": "datetime",
    "DateOnly": "date",
    "TimeOnly": "time",
    "TimeSpan": "timespan",
    "byte[]": "bytes",
    "int": "integer",
    "double": "float",
    "decimal": "decimal",
    "bool": "bool",
    "JsonElement": "any",
    "List": "array",
    "Array": "array",
    "Dictionary": "map",
}
_WRITES = {
    "string": "a JSON string",
    "guid": "a GUID string",
    "datetime": "an ISO 8601 timestamp with an offset",
    "date": 'a date string ("2025-10-01")',
    "time": 'a time string ("09:30:00")',
    "timespan": 'a TimeSpan string ("01:30:00")',
    "bytes": "a base64 string",
    "integer": "a JSON integer",
    "float": "a JSON number that may have a fraction",
    "decimal": "a JSON number with the Decimal's exact digits",
    "bool": "true/false",
    "enum": "the enum's integer value",
    "array": "a JSON array",
    "map": "a JSON object",
    "record": "a JSON object",
}
_STRINGY = {"string", "guid", "datetime", "date", "time", "timespan", "bytes"}
#: Accepted (expected kind -> C# kinds that read it), besides ``any``.
_READS = {
    "string": {"string"},
    "guid": {"string", "Guid"},
    "datetime": {"string", "DateTimeOffset"},
    "date": {"string", "DateOnly"},
    "time": {"string", "TimeOnly", "TimeSpan"},
    "timespan": {"string", "TimeSpan"},
    "bytes": {"string", "byte[]"},
    "integer": {"int", "float", "decimal"},
    "float": {"float", "decimal"},
    "decimal": {"decimal", "float"},
    "bool": {"bool"},
    "enum": {"int"},
}
_WARN = {
    ("datetime", "DateTime"): "reads, but DateTime drops the offset: Z reads as UTC, other "
    "offsets are converted to the reader's local time",
    ("date", "DateTime"): "reads as midnight of that day (Kind Unspecified)",
    ("date", "DateTimeOffset"): "reads as midnight of that day in the reader's local offset",
    ("timespan", "TimeOnly"): "throws JsonException for negative durations or 24 hours and more",
    ("integer", "enum"): "reads any integer, also values the C# enum has no name for",
}


@dataclasses.dataclass(frozen=True)
class _At:
    """Where a value comparison reports to: the event, the Python type, the C# line."""

    event: str
    python: str
    where: str


class _Checker:
    def __init__(self, contract: Contract, sources: CsSources) -> None:
        self.contract = contract
        self.sources = sources
        self.findings: list[Finding] = []
        self.done: set[tuple[str, str, str]] = set()  # nested types and enums checked

    def add(
        self,
        severity: Severity,
        kind: str,
        event: str,
        prop: str | None,
        py: str | None,
        cs: str | None,
        consequence: str,
        where: str | None = None,
    ) -> None:
        self.findings.append(Finding(severity, kind, event, prop, py, cs, consequence, where))

    # -- C# side helpers ------------------------------------------------------------------------

    def decl(self, name: str) -> CsDecl | None:
        found = self.sources.find(name)
        return found[0] if found else None

    def kind_of(self, t: CsType) -> str:
        if t.name in _ANY:
            return "any"
        if t.name in _INTS:
            return "int"
        if t.name in ("double", "float"):
            return "float"
        if t.name in ("List", "Array"):
            return "array"
        if t.name == "Dictionary":
            return "map"
        if t.name in _VALUE or t.name in ("string", "byte[]"):
            return t.name
        decl = self.decl(t.name)
        if decl is None:
            return "unknown"
        return "enum" if decl.kind == "enum" else "record"

    def is_value_type(self, t: CsType) -> bool:
        if t.nullable:
            return False
        if t.name in _VALUE:
            return True
        decl = self.decl(t.name) if t.name not in _ANY else None
        return decl is not None and decl.value_type

    def default_of(self, p: CsProperty) -> str:
        if p.required:
            return "throws JsonException (a required member is missing)"
        if p.option:
            return "reads as not set (Option<T>)"
        t = p.type
        if t.nullable or not self.is_value_type(t):
            return "reads as null" if t.name not in _ANY else "reads as an undefined JsonElement"
        named = {
            "bool": "false",
            "Guid": "Guid.Empty",
            "DateTimeOffset": "DateTimeOffset.MinValue",
            "DateTime": "DateTime.MinValue",
            "TimeSpan": "TimeSpan.Zero",
            "DateOnly": "DateOnly.MinValue",
            "TimeOnly": "TimeOnly.MinValue",
        }
        if t.name in named:
            return f"reads as {named[t.name]}"
        if t.name in _INTS or t.name in ("double", "float", "decimal"):
            return "reads as 0"
        return f"reads as default({t.name})"

    # -- records --------------------------------------------------------------------------------

    def event(self, record: PyRecord) -> None:
        if not is_identifier(record.name):
            self.add(
                "warning",
                "unchecked",
                record.name,
                None,
                record.origin,
                None,
                "a generic event type: check its C# record by hand",
            )
            return
        decls = [d for d in self.sources.find(record.name) if d.kind != "enum"]
        if not decls:
            lower = record.name.lower()
            near = [d for d in self.sources.decls if d.name.lower() == lower and d.kind != "enum"]
            self.add(
                "error",
                "no-record",
                record.name,
                None,
                record.origin,
                near[0].name if near else None,
                f"no C# type named {record.name}: MicroPlumberd cannot read these events "
                + (
                    f"(C# {near[0].name} differs in case; the event type is matched exactly)"
                    if near
                    else "(the event type is the C# class name, exact case)"
                ),
                near[0].where if near else None,
            )
            return
        for decl in decls:
            self.category(record, decl)
            self.record(record, decl, record.name, "")

    def category(self, record: PyRecord, decl: CsDecl) -> None:
        if record.category is None:
            return
        cs_category = decl.output_stream or category_of_namespace(decl.namespace)
        if cs_category == record.category:
            return
        self.add(
            "warning",
            "category",
            record.name,
            None,
            f"category {record.category}",
            f"category {cs_category}" if cs_category else "no category",
            f"Python writes to {record.category}-... streams, C# AppendEvent writes to "
            f'{cs_category or "(none)"}: add [OutputStream("{record.category}")]',
            decl.where,
        )

    def record(self, py: PyRecord, decl: CsDecl, event: str, prefix: str) -> None:
        props = self.sources.properties(decl)
        by_name = {p.name: p for p in props}
        by_lower: dict[str, CsProperty] = {}
        for p in props:
            by_lower.setdefault(p.name.lower(), p)
        written = {p.wire for p in py.properties}
        cased: set[str] = set()
        for w in py.properties:
            path = prefix + w.wire
            c = by_name.get(w.wire)
            if c is None:
                other = by_lower.get(w.wire.lower())
                if other is not None and other.name not in written:
                    cased.add(other.name)
                    self.add(
                        "error",
                        "case",
                        event,
                        path,
                        w.python,
                        other.type.text(),
                        f"{self.default_of(other)}: Python writes "
                        f'"{w.wire}", C# reads "{other.name}" (names are case-sensitive)',
                        f"{decl.file}:{other.line}",
                    )
                else:
                    self.add(
                        "warning",
                        "not-read",
                        event,
                        path,
                        w.python,
                        None,
                        f"data ignored: {decl.name} has no property {w.wire}",
                        decl.where,
                    )
                continue
            if c.ignored_attribute is not None:
                self.attribute(event, path, c, decl)
            self.value(w.cs, w.python, c, event, path, decl, omitted=w.omit_if_none)
        for c in props:
            if c.name in written or c.name in cased:
                continue
            if c.ignored_attribute is not None:
                self.attribute(event, prefix + c.name, c, decl)
            self.add(
                "warning" if c.option else "error",
                "not-written",
                event,
                prefix + c.name,
                None,
                c.type.text(),
                f"{self.default_of(c)}: no Python field writes {c.name}",
                f"{decl.file}:{c.line}",
            )

    def attribute(self, event: str, path: str, c: CsProperty, decl: CsDecl) -> None:
        self.add(
            "warning",
            "attribute",
            event,
            path,
            None,
            c.type.text(),
            f'[JsonPropertyName("{c.ignored_attribute}")] on a record parameter is ignored: '
            f'write [property: JsonPropertyName("{c.ignored_attribute}")]',
            f"{decl.file}:{c.line}",
        )

    # -- values ---------------------------------------------------------------------------------

    def value(
        self,
        expected: CsType,
        python: str,
        c: CsProperty,
        event: str,
        path: str,
        decl: CsDecl,
        *,
        omitted: bool = False,
    ) -> None:
        at = _At(event, python, f"{decl.file}:{c.line}")
        self.compare(expected, c.type, path, at, omitted=omitted or c.option)

    def report(
        self, at: _At, severity: Severity, kind: str, cs: CsType, text: str, path: str
    ) -> None:
        self.add(severity, kind, at.event, path, at.python, cs.text(), text, at.where)

    def compare(
        self, expected: CsType, actual: CsType, path: str, at: _At, *, omitted: bool = False
    ) -> None:
        want = self.expected_kind(expected)
        have = self.kind_of(actual)
        if expected.nullable and not omitted and self.is_value_type(actual):
            self.report(
                at,
                "error",
                "null",
                actual,
                f"throws JsonException when Python writes None: C# {actual.text()} is not nullable",
                path,
            )
        if have == "any":
            return
        if want == "any":
            self.report(
                at,
                "warning",
                "unchecked",
                actual,
                f"Python may write any JSON value here; C# {actual.text()} throws "
                "JsonException for values of another type",
                path,
            )
            return
        if have == "unknown":
            self.report(
                at,
                "warning",
                "unchecked",
                actual,
                f"C# type {actual.name} is not declared in the C# sources given: not checked",
                path,
            )
            return
        if want == "array" and have == "array":
            self.compare(expected.args[0], actual.args[0], path + "[]", at)
            return
        if want == "map" and have == "map":
            self.compare(expected.args[1], actual.args[1], path + "[key]", at)
            return
        if want == "record" and have == "record":
            py = self.contract.record(expected.name)
            decl = self.decl(actual.name)
            if py is not None and decl is not None:
                key = (py.name, decl.name, "record")
                if key not in self.done:  # a nested type is reported once, where first used
                    self.done.add(key)
                    self.record(py, decl, at.event, path + ".")
            return
        if want == "enum" and have == "enum":
            py_enum = self.contract.enum(expected.name)
            decl = self.decl(actual.name)
            if py_enum is not None and decl is not None:
                self.enum(py_enum, decl, actual, path, at)
            return
        warning = _WARN.get((want, have)) or _WARN.get((want, actual.name))
        if warning is not None:
            self.report(at, "warning", "type", actual, warning, path)
            return
        if have in _READS.get(want, set()) or actual.name in _READS.get(want, set()):
            return
        self.report(at, "error", "type", actual, self.mismatch(want, have, actual), path)

    def expected_kind(self, t: CsType) -> str:
        kind = _EXPECTED.get(t.name)
        if kind is not None:
            return kind
        if self.contract.enum(t.name) is not None:
            return "enum"
        if self.contract.record(t.name) is not None:
            return "record"
        return "any"

    def mismatch(self, want: str, have: str, actual: CsType) -> str:
        cs = actual.text()
        writes = _WRITES.get(want, "a JSON value")
        if want in _STRINGY and have in ("int", "float", "decimal", "enum"):
            return f"throws JsonException: C# {cs} does not read numbers from JSON strings"
        if want == "string" and have == "Guid":
            return "throws JsonException for every value that is not a GUID (Python writes any str)"
        if want == "float" and have == "int":
            return "throws JsonException for any value with a fraction (2.5, and 2.0 too)"
        if want == "decimal" and have == "int":
            return "throws JsonException for any value with a fraction (Decimal('9.99'))"
        if want in ("integer", "float", "decimal", "enum") and have == "string":
            return f"throws JsonException: C# string does not read {writes}"
        if want == "timespan" and have in ("DateTime", "DateTimeOffset"):
            return f'throws JsonException: "01:30:00" (a TimeSpan) is not a {have}'
        if want == "datetime" and have == "TimeSpan":
            return "throws JsonException: an ISO 8601 timestamp is not a TimeSpan"
        return f"throws JsonException: Python writes {writes}, C# {cs} does not read it"

    def enum(
        self,
        py: PyEnum,
        decl: CsDecl,
        actual: CsType,
        path: str,
        at: _At,
    ) -> None:
        key = (py.name, decl.name, "enum")
        if key in self.done:
            return
        self.done.add(key)
        by_value: dict[int, str] = {}
        by_name: dict[str, tuple[str, int | None]] = {}
        for name, value in decl.members:
            if value is not None:
                by_value.setdefault(value, name)
            by_name[name.lower().replace("_", "")] = (name, value)
        unknown = any(value is None for _, value in decl.members)
        for m in py.members:
            same = by_name.get(m.python.lower().replace("_", ""))
            if same is not None and same[1] is not None and same[1] != m.value:
                reads = by_value.get(m.value)
                text = f"{decl.name}.{reads}" if reads else f"{m.value}, a value with no name"
                self.report(
                    at,
                    "error",
                    "enum",
                    actual,
                    f"{py.name}.{m.python} is written as {m.value} and reads as {text} "
                    f"(C# {decl.name}.{same[0]} = {same[1]})",
                    path,
                )
            elif m.value not in by_value and not unknown:
                self.report(
                    at,
                    "error",
                    "enum",
                    actual,
                    f"{py.name}.{m.python} is written as {m.value}, a value C# {decl.name} has "
                    "no name for",
                    path,
                )


def check_contract(contract: Contract, sources: CsSources) -> list[Finding]:
    """Every difference between ``contract`` (the Python side) and the parsed C# ``sources``."""
    checker = _Checker(contract, sources)
    for file, line in sources.syntax_errors:
        checker.add(
            "warning",
            "syntax",
            "-",
            None,
            None,
            None,
            "the C# grammar reports a syntax error here; declarations after it may be missed",
            f"{file}:{line}",
        )
    for record in contract.events():
        checker.event(record)
    return checker.findings
