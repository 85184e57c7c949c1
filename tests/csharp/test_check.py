"""``check``: what System.Text.Json reads wrong, and what it reads fine, type by type."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from plumberd_logging import Event, field
from plumberd_logging.csharp import Finding, check


@dataclasses.dataclass
class Line:
    sku: str
    unit_price: Decimal


class Ordered(Event):
    order_id: UUID
    lines: list[Line]
    tags: list[str]
    placed_at: datetime
    due_on: date
    count: int
    payload: Any = None
    comment: str | None = field(default=None, omit_if_none=True)


class Reordered(Event):
    lines: list[Line]


def found(cs: str, *classes: type) -> list[tuple[str, str, str | None]]:
    findings: list[Finding] = check(classes or [Ordered], {"Orders.cs": cs})
    return [(f.severity, f.kind, f.property) for f in findings]


def test_conversions_system_text_json_makes_are_not_reported() -> None:
    # UUID read as string, int as double/long, nullable C# for non-optional Python, IEnumerable,
    # string[] for list, Option<T> for an omit_if_none field, JsonElement for Any
    cs = """
    public record Line(string Sku, decimal? UnitPrice);
    public record Ordered(Guid Id, string OrderId, IEnumerable<Line> Lines, string[] Tags,
        DateTimeOffset? PlacedAt, DateOnly DueOn, long Count, JsonElement Payload,
        Option<string> Comment);
    """
    assert found(cs) == []


def test_a_nested_type_is_checked_once_with_its_path() -> None:
    cs = """
    public record Line(string Sku, int UnitPrice);
    public record Ordered(Guid Id, Guid OrderId, List<Line> Lines, List<int> Tags,
        DateTime PlacedAt, DateTimeOffset DueOn, int Count, int Payload, string? Comment);
    public record Reordered(Guid Id, List<Line> Lines);
    """
    assert found(cs, Ordered, Reordered) == [
        ("error", "type", "Lines[].UnitPrice"),  # once, though Reordered uses Line too
        ("error", "type", "Tags[]"),
        ("warning", "type", "PlacedAt"),  # DateTime drops the offset
        ("warning", "type", "DueOn"),  # a date read as midnight
        ("warning", "unchecked", "Payload"),  # Any against int
    ]


def test_required_option_and_unknown_csharp_types() -> None:
    cs = """
    public record Line(string Sku, decimal UnitPrice);
    public class Ordered {
        public Guid Id { get; init; }
        public Guid OrderId { get; init; }
        public List<Line> Lines { get; init; } = new();
        public List<string> Tags { get; init; } = new();
        public DateTimeOffset PlacedAt { get; init; }
        public DateOnly DueOn { get; init; }
        public int Count { get; init; }
        public JsonElement Payload { get; init; }
        public string? Comment { get; init; }
        public required string Region { get; init; }
        public Option<int> Version { get; init; }
        public Money Price { get; init; }
    }
    """
    findings = check([Ordered], {"Orders.cs": cs})
    by_property = {f.property: f for f in findings}
    assert set(by_property) == {"Region", "Version", "Price"}
    assert by_property["Region"].severity == "error"
    assert by_property["Region"].consequence.startswith("throws JsonException (a required member")
    assert by_property["Version"].severity == "warning"
    assert by_property["Version"].consequence.startswith("reads as not set (Option<T>)")
    assert by_property["Price"].consequence.startswith("reads as null")


def test_json_property_name_without_the_property_target_is_flagged() -> None:
    class Seen(Event):
        user_id: str = field(wire_name="user_id")

    cs = 'public record Seen(Guid Id, [JsonPropertyName("user_id")] string UserId);'
    findings = check([Seen], {"Seen.cs": cs})
    assert [(f.kind, f.property) for f in findings] == [
        ("not-read", "user_id"),
        ("attribute", "UserId"),
        ("not-written", "UserId"),
    ]
    assert 'write [property: JsonPropertyName("user_id")]' in findings[1].consequence
    fixed = 'public record Seen(Guid Id, [property: JsonPropertyName("user_id")] string UserId);'
    assert check([Seen], {"Seen.cs": fixed}) == []


def test_inherited_properties_and_the_output_stream_attribute() -> None:
    class Opened(Event, category="Door"):
        door_id: str
        at: datetime

    cs = """
    namespace Acme.Buildings.Events;
    public abstract record DoorEvent
    {
        public Guid Id { get; init; }
        public string DoorId { get; init; } = "";
    }
    [OutputStream("Door")]
    public record Opened : DoorEvent { public DateTimeOffset At { get; init; } }
    """
    assert check([Opened], {"Door.cs": cs}) == []
    without = cs.replace('[OutputStream("Door")]', "")
    [finding] = check([Opened], {"Door.cs": without})
    assert (finding.kind, finding.csharp_type) == ("category", "category Buildings")


def test_an_event_type_that_differs_in_case_is_named() -> None:
    class OrderPlaced(Event):
        total: Decimal

    [finding] = check(
        [OrderPlaced], {"Orders.cs": "public record Orderplaced(Guid Id, decimal Total);"}
    )
    assert (finding.severity, finding.kind, finding.csharp_type) == (
        "error",
        "no-record",
        "Orderplaced",
    )
    assert "C# Orderplaced differs in case" in finding.consequence
    assert finding.where == "Orders.cs:1"
