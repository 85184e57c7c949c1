"""Event classes covering every type the C# generator maps (golden files in golden/)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any, Literal, NamedTuple
from uuid import UUID

from pydantic import BaseModel

from plumberd_logging import Event, field


class Priority(IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2


class Colour(str, Enum):  # string values: C# reads them only with a string converter
    RED = "red"


@dataclasses.dataclass
class LineItem:
    sku: str
    quantity: int
    unit_price: Decimal


class Address(BaseModel):
    street_name: str
    zip_code: str | None = None


class Reading(NamedTuple):
    at: datetime
    value: float


class CameraInfo(Event):
    name: str


class EveryType(Event, category="Shop"):
    text: str
    count: int
    ratio: float
    active: bool
    price: Decimal
    order_id: UUID
    placed_at: datetime
    due_on: date
    opens_at: time
    estimate: timedelta
    signature: bytes
    priority: Priority
    colour: Colour
    note: str | None = None
    retries: int | None = None
    items: list[LineItem]
    sizes: tuple[int, ...]
    pair: tuple[float, float]
    labels: set[str]
    counts: dict[str, int]
    by_sku: dict[str, LineItem]
    by_id: dict[UUID, str]
    address: Address
    reading: Reading | None = None
    camera: CameraInfo
    payload: Any
    either: int | str
    choice: Literal["a", "b"]
    user_id: str = field(wire_name="UserID")
    trace: str | None = field(default=None, omit_if_none=True)
    path: Path
    loose: list  # type: ignore[type-arg]


class OrderShipped(Event, category="Orders", stream_id_field="order_id"):
    order_id: UUID
    carrier: str
    priority: Priority = Priority.NORMAL


class TaskCreated(Event):  # the py-micro-plumberd README style
    def __init__(self, title: str, description: str | None) -> None:
        super().__init__()
        self.title = title
        self.description = description


class Envelope(Event, event_type="Envelope<Order>"):
    order_id: UUID


class Renamed(Event, event_type="OrderRenamed"):
    name: str


EVENTS = (EveryType, OrderShipped, TaskCreated, Envelope, Renamed)
NAMESPACE = "Acme.Shop.Events"


def every_type() -> EveryType:
    """An instance with every field set (for comparing with what the codec writes)."""
    item = LineItem("A-1", 2, Decimal("9.99"))
    return EveryType(
        text="t",
        count=1,
        ratio=0.5,
        active=True,
        price=Decimal("1.10"),
        order_id=UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"),
        placed_at=datetime.fromisoformat("2025-10-01T09:30:00+00:00"),
        due_on=date(2025, 10, 2),
        opens_at=time(9, 30),
        estimate=timedelta(hours=1, minutes=30),
        signature=b"\xfb\xff",
        priority=Priority.HIGH,
        colour=Colour.RED,
        note="n",
        retries=3,
        items=[item],
        sizes=(1, 2),
        pair=(1.0, 2.0),
        labels={"x"},
        counts={"a": 1},
        by_sku={"A-1": item},
        by_id={UUID(int=1): "one"},
        address=Address(street_name="Main St", zip_code="123"),
        reading=Reading(datetime.fromisoformat("2025-10-01T09:30:00+00:00"), 1.5),
        camera=CameraInfo(name="front"),
        payload={"k": [1, 2]},
        either=1,
        choice="a",
        user_id="u-1",
        trace="tr",
        path=Path("/tmp/x"),
        loose=[1, "a"],
    )
