"""A second module of events: its own C# namespace by default, using a type from events.py."""

from __future__ import annotations

from decimal import Decimal

from plumberd_logging import Event

from .events import LineItem


class InvoiceIssued(Event, category="Billing", stream_id_field="invoice_no"):
    invoice_no: str
    lines: list[LineItem]
    total: Decimal
