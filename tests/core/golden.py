"""The golden examples G1, G2, G3 and G5 of wire-format.md §10, as Python events and bytes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum
from uuid import UUID

from plumberd_logging import Event

UTC = timezone.utc


class RecordingFinished(Event):
    recording_id: str
    duration: float
    file_path: str


G1_EVENT = RecordingFinished(
    id=UUID("9f2c6a1e-3b4d-4c5e-8f70-1a2b3c4d5e6f"),
    recording_id="rec-123",
    duration=120.5,
    file_path="/recordings/rec-123.mp4",
)
G1_STREAM = "Recording-0b5e7d52-4f6a-4c1b-9a3e-2d8f1c7b6a90"
G1_DATA = (
    b'{"Id":"9f2c6a1e-3b4d-4c5e-8f70-1a2b3c4d5e6f","RecordingId":"rec-123","Duration":120.5,'
    b'"FilePath":"/recordings/rec-123.mp4"}'
)
G1_CREATED = datetime(2025, 9, 6, 13, 55, 9, 123456, tzinfo=UTC)
G1_METADATA = (
    b'{"Created":"2025-09-06T13:55:09.123456+00:00",'
    b'"$correlationId":"9f2c6a1e-3b4d-4c5e-8f70-1a2b3c4d5e6f",'
    b'"$causationId":"9f2c6a1e-3b4d-4c5e-8f70-1a2b3c4d5e6f"}'
)


class Priority(IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2


class TaskScheduled(Event):
    task_id: UUID
    due_at: datetime
    priority: Priority
    assigned_to: str | None = None
    estimate: timedelta


G2_EVENT = TaskScheduled(
    id=UUID("5d0c1a52-8a7e-4c0b-9a65-3e1f7c2d9b10"),
    task_id=UUID("3f1d2c4b-6a5e-4f70-8b9c-0d1e2f3a4b5c"),
    due_at=datetime(2025, 10, 1, 9, 30, tzinfo=UTC),
    priority=Priority.HIGH,
    estimate=timedelta(hours=1, minutes=30),
)
G2_STREAM = "Tasks-3f1d2c4b-6a5e-4f70-8b9c-0d1e2f3a4b5c"
G2_DATA = (
    b'{"Id":"5d0c1a52-8a7e-4c0b-9a65-3e1f7c2d9b10","TaskId":"3f1d2c4b-6a5e-4f70-8b9c-0d1e2f3a4b5c",'
    b'"DueAt":"2025-10-01T09:30:00Z","Priority":2,"AssignedTo":null,"Estimate":"01:30:00"}'
)
G2_CREATED = datetime(2025, 9, 6, 13, 55, 9, 500000, tzinfo=UTC)
G2_METADATA = (
    b'{"Created":"2025-09-06T13:55:09.5+00:00",'
    b'"$correlationId":"5d0c1a52-8a7e-4c0b-9a65-3e1f7c2d9b10",'
    b'"$causationId":"5d0c1a52-8a7e-4c0b-9a65-3e1f7c2d9b10"}'
)


@dataclasses.dataclass
class LineItem:
    sku: str
    quantity: int
    unit_price: Decimal


class OrderPlaced(Event):
    order_id: UUID
    items: list[LineItem]
    tags: list[str]
    attributes: dict[str, str]
    total: Decimal
    signature: bytes


G3_EVENT = OrderPlaced(
    id=UUID("2c8e4f10-7b1a-4d3e-9f5a-6b7c8d9e0f12"),
    order_id=UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"),
    items=[LineItem("A-1", 2, Decimal("9.99")), LineItem("B-7", 1, Decimal("0.02"))],
    tags=["web", "promo"],
    attributes={"channel": "web", "utm_source": "mail"},
    total=Decimal("20.00"),
    signature=b"\xfb\xff\xfe\x01",
)
G3_STREAM = "Orders-a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
G3_DATA = (
    b'{"Id":"2c8e4f10-7b1a-4d3e-9f5a-6b7c8d9e0f12","OrderId":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",'
    b'"Items":[{"Sku":"A-1","Quantity":2,"UnitPrice":9.99},{"Sku":"B-7","Quantity":1,'
    b'"UnitPrice":0.02}],"Tags":["web","promo"],"Attributes":{"channel":"web","utm_source":"mail"},'
    b'"Total":20.00,"Signature":"+//+AQ=="}'
)
G3_CREATED = datetime(2025, 9, 6, 13, 55, 10, tzinfo=UTC)
G3_METADATA = (
    b'{"Created":"2025-09-06T13:55:10+00:00",'
    b'"$correlationId":"2c8e4f10-7b1a-4d3e-9f5a-6b7c8d9e0f12",'
    b'"$causationId":"2c8e4f10-7b1a-4d3e-9f5a-6b7c8d9e0f12"}'
)


class CameraRenamed(Event):
    name: str


G5_EVENT = CameraRenamed(id=UUID("8d1f0e2a-5c3b-4a69-b7e8-f90a1b2c3d4e"), name="Front door (north)")
G5_STREAM = "CameraAggregate-6fa459ea-ee8a-3ca4-894e-db77e160355e"
G5_TRIGGER = UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
G5_USER = "alice@example.com"
G5_DATA = b'{"Id":"8d1f0e2a-5c3b-4a69-b7e8-f90a1b2c3d4e","Name":"Front door (north)"}'
G5_CREATED = datetime(2025, 9, 6, 13, 55, 12, 1, tzinfo=UTC)
G5_METADATA = (
    b'{"Created":"2025-09-06T13:55:12.000001+00:00",'
    b'"$correlationId":"1b4e28ba-2fa1-41d2-883f-0016d3cca427",'
    b'"$causationId":"1b4e28ba-2fa1-41d2-883f-0016d3cca427","UserId":"alice@example.com"}'
)
