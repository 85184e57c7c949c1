"""The C# reader: what System.Text.Json binds, from the syntax a C# team writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from plumberd_logging.csharp._model import CsType
from plumberd_logging.csharp._parse import CsSources, parse_sources

SOURCE = """
using System.Text.Json.Serialization;
namespace Acme.Orders.Events;

[OutputStream("Orders")]
public record OrderPlaced(
    System.Guid Id,
    [property: JsonPropertyName("order_no")] string OrderNo,
    [JsonPropertyName("ignored")] int Count,
    decimal? Total,
    IReadOnlyList<LineItem> Items,
    Nullable<int> Retries,
    Option<string> Comment,
    byte[] Signature,
    Dictionary<string, List<Guid>> Links)
{
    public string Extra { get; init; } = "";
    public string Computed => OrderNo;
    public static int Shared { get; set; }
    private int Hidden { get; set; }
}

public class LineItem
{
    [JsonPropertyName("SKU")] public string Sku { get; set; } = "";
    public required int Quantity { get; set; }
    public int ReadOnly { get; }
    public int PrivateSet { get; private set; }
    [JsonIgnore] public int Ignored { get; set; }
    public int Field;

    public enum Kind { Plain, Gift = 5, Sample, Negative = -1, Alias = Gift, Bit = 1 << 4 | 1 }
}

public sealed class GiftItem : LineItem
{
    public string? Message { get; set; }
}

public readonly record struct Money(decimal Amount, string Currency);
"""

BLOCK = """
namespace Acme
{
    namespace Tasks.Events
    {
        public enum Priority { Low, Normal, High }
        public record TaskScheduled(Guid Id, Priority Priority);
    }
}
"""


@pytest.fixture
def sources() -> CsSources:
    return parse_sources({"Orders.cs": SOURCE, "Tasks.cs": BLOCK})


def props(sources: CsSources, name: str) -> dict[str, CsType]:
    [decl] = sources.find(name)
    return {p.name: p.type for p in sources.properties(decl)}


def test_positional_records_attributes_and_types(sources: CsSources) -> None:
    [decl] = sources.find("OrderPlaced")
    assert (decl.kind, decl.namespace, decl.output_stream) == (
        "record",
        "Acme.Orders.Events",
        "Orders",
    )
    assert (decl.file, decl.line) == ("Orders.cs", 5)
    assert props(sources, "OrderPlaced") == {
        "Id": CsType("Guid"),
        "order_no": CsType("string"),
        "Count": CsType("int"),  # JsonPropertyName without property: does not rename
        "Total": CsType("decimal", nullable=True),
        "Items": CsType("List", (CsType("LineItem"),)),
        "Retries": CsType("int", nullable=True),
        "Comment": CsType("string"),
        "Signature": CsType("byte[]"),
        "Links": CsType("Dictionary", (CsType("string"), CsType("List", (CsType("Guid"),)))),
        "Extra": CsType("string"),
    }
    by_name = {p.name: p for p in decl.properties}
    assert by_name["Count"].ignored_attribute == "ignored"
    assert by_name["Comment"].option


def test_class_properties_bind_only_when_public_and_settable(sources: CsSources) -> None:
    assert props(sources, "LineItem") == {"SKU": CsType("string"), "Quantity": CsType("int")}
    [item] = sources.find("LineItem")
    assert [p.required for p in item.properties] == [False, True]
    # inherited properties count, nested types keep the namespace
    assert props(sources, "GiftItem") == {
        "Message": CsType("string", nullable=True),
        "SKU": CsType("string"),
        "Quantity": CsType("int"),
    }


def test_enums_with_implicit_explicit_and_referenced_values(sources: CsSources) -> None:
    [kind] = sources.find("Kind")
    assert (kind.kind, kind.namespace) == ("enum", "Acme.Orders.Events")
    assert kind.members == (
        ("Plain", 0),
        ("Gift", 5),
        ("Sample", 6),
        ("Negative", -1),
        ("Alias", 5),
        ("Bit", 17),
    )
    [priority] = sources.find("Priority")
    assert priority.members == (("Low", 0), ("Normal", 1), ("High", 2))


def test_block_namespaces_nest_and_record_structs_are_value_types(sources: CsSources) -> None:
    [task] = sources.find("TaskScheduled")
    assert task.namespace == "Acme.Tasks.Events"
    [money] = sources.find("Money")
    assert money.value_type
    assert props(sources, "Money") == {"Amount": CsType("decimal"), "Currency": CsType("string")}
    assert sources.syntax_errors == []


def test_directories_are_searched_and_build_output_skipped(tmp_path: Path) -> None:
    (tmp_path / "Events").mkdir()
    (tmp_path / "Events" / "A.cs").write_text("public record A(int X);")
    (tmp_path / "obj").mkdir()
    (tmp_path / "obj" / "A.g.cs").write_text("public record A(string X);")
    (tmp_path / "B.cs").write_text(
        "\ufeffpublic record B(int X);"
    )  # a BOM, as Visual Studio writes
    found = parse_sources([tmp_path])
    assert sorted(d.name for d in found.decls) == ["A", "B"]
    assert len(found.files) == 2


def test_a_syntax_error_is_located_and_parsing_goes_on() -> None:
    found = parse_sources(
        {"Bad.cs": "public record A(int X);\npublic record B(int X;\npublic record C(int Y);"}
    )
    assert found.syntax_errors == [("Bad.cs", 2)]
    assert "A" in [d.name for d in found.decls]


def test_a_missing_path_is_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"no such file or directory: nowhere/Events"):
        parse_sources(["nowhere/Events"])
