"""The Python side of the seeded-mismatch test (seeded/Mismatches.cs is the drifted C# side)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from enum import IntEnum

from plumberd_logging import Event


class Level(IntEnum):
    LOW = 0
    HIGH = 2


class ParcelShipped(Event, category="Shipping"):
    parcel_id: str
    weight: float
    price: Decimal
    level: Level
    eta: timedelta
    note_count: int | None = None
    carrier_id: str
    comment: str


class ParcelReturned(Event):
    parcel_id: str
