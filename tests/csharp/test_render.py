"""``render``: golden C# text for every mapped type, names exactly as the codec writes them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plumberd_logging import Codec, Event
from plumberd_logging.csharp import contract, render, render_files

from .billing import InvoiceIssued
from .conftest import compare_golden
from .events import EVENTS, NAMESPACE, EveryType, LineItem, every_type


def test_every_type_in_one_namespace_matches_the_golden_file() -> None:
    compare_golden("every_type.cs", render(EVENTS, namespace=NAMESPACE))


def test_default_namespaces_follow_the_python_modules() -> None:
    text = render([*EVENTS, InvoiceIssued])
    compare_golden("by_module.cs", text)
    assert "namespace Csharp.Events\n{" in text
    assert "namespace Csharp.Billing\n{" in text
    # Billing is the category of both the namespace and the class: no attribute needed
    assert '[OutputStream("Billing")]' not in text
    assert '[OutputStream("Shop")]' in text  # Csharp.Events would give category "Csharp"


def test_log_records_match_the_golden_file() -> None:
    compare_golden("log_records.cs", render((), log_records=True))


def test_one_file_per_namespace_each_with_its_usings() -> None:
    files = render_files([*EVENTS, InvoiceIssued])
    assert list(files) == ["Csharp.Events.cs", "Csharp.Billing.cs"]
    billing = files["Csharp.Billing.cs"]
    assert "namespace Csharp.Billing;\n" in billing
    assert "using Csharp.Events;\n" in billing  # LineItem lives there
    assert "public record InvoiceIssued(Guid Id, string InvoiceNo, List<LineItem> Lines" in billing
    assert "record LineItem" not in billing
    assert render_files(EVENTS, namespace=NAMESPACE) == {
        f"{NAMESPACE}.cs": render(EVENTS, namespace=NAMESPACE)
    }


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return None


def test_property_names_are_the_keys_the_codec_writes() -> None:
    built = contract(EVENTS, namespace=NAMESPACE)
    body = json.loads(Codec(string_enums=True).encode(every_type()).data)
    record = built.record("EveryType")
    assert record is not None
    assert [p.wire for p in record.properties] == list(body)
    for prop, nested in [("Items", "LineItem"), ("Address", "Address"), ("Camera", "CameraInfo")]:
        value = body[prop][0] if isinstance(body[prop], list) else body[prop]
        nested_record = built.record(nested)
        assert nested_record is not None
        assert [p.wire for p in nested_record.properties] == list(value)
    reading = built.record("Reading")
    assert reading is not None
    assert [p.wire for p in reading.properties] == list(body["Reading"])


def test_the_wire_name_and_the_event_type_override_are_used() -> None:
    text = render(EVENTS, namespace=NAMESPACE)
    assert "string UserID," in text  # field(wire_name="UserID"), not the default UserId
    assert "public record OrderRenamed(Guid Id, string Name);" in text
    assert "record Renamed" not in text


def test_output_is_deterministic() -> None:
    first = render([*EVENTS, InvoiceIssued])
    assert all(render([*EVENTS, InvoiceIssued]) == first for _ in range(3))
    # a class given twice, or reached both directly and nested, appears once
    assert render([EveryType, EveryType]).count("public record EveryType(") == 1
    assert render([EveryType, LineItem]).count("public record LineItem(") == 1


def test_names_that_are_not_csharp_identifiers_get_an_attribute() -> None:
    from plumberd_logging import field

    class Odd(Event):
        kebab: str = field(wire_name="kebab-case")
        odd: int = field(wire_name="Odd")  # the record's own name
        keyword: str = field(wire_name="class")

    text = render([Odd], namespace="Acme.Events")
    assert '[property: JsonPropertyName("kebab-case")] string kebab_case' in text
    assert '[property: JsonPropertyName("Odd")] int Odd_' in text
    assert "string @class" in text
    assert "using System.Text.Json.Serialization;" in text


def test_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(ValueError, match=r"namespace: expected a C# namespace"):
        render(EVENTS, namespace="Acme..Events")
    with pytest.raises(TypeError, match=r"classes: expected Event subclasses"):
        render([42])  # type: ignore[list-item]

    class LineItem(Event):  # same C# name as events.LineItem, in the same namespace
        sku: str

    with pytest.raises(ValueError, match=r"would both be the C# type Acme.Shop.Events.LineItem"):
        render([EveryType, LineItem], namespace=NAMESPACE)
