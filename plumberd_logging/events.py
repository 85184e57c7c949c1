"""``Event``, the base class of the facts you publish, and ``field`` for per-field wire rules.

Both ways of declaring an event that py-micro-plumberd users have work:

    class RecordingFinished(Event):             # annotated fields, constructed by keyword
        recording_id: str
        duration: float
        file_path: str
        note: str | None = None

    class TaskCreated(Event):                   # the py-micro-plumberd README style
        def __init__(self, title: str, description: str):
            super().__init__()
            self.title = title
            self.description = description

Every event has an ``id`` (a UUID4 unless given with ``id=`` or assigned later). It becomes the
EventStore event id *and* the ``"Id"`` in the body, as C# MicroPlumberd expects. The event type is
the class name; class keywords override it and give the class a default stream:

    class Envelope(Event, event_type="Envelope<Order>", category="Orders",
                   stream_id_field="order_id"):
        order_id: UUID
        user_id: str = field(wire_name="UserID")    # acronyms C# spells its own way
        comment: str | None = field(default=None, omit_if_none=True)  # C# Option<T>
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, overload
from uuid import UUID

from typing_extensions import dataclass_transform

from plumberd_logging._guid import parse_guid
from plumberd_logging._ids import new_event_id
from plumberd_logging.streams import check_category

__all__ = ["Event", "event_type_of", "field"]

_T = TypeVar("_T")

#: Keys of ``dataclasses.Field.metadata`` that the codec reads.
WIRE_NAME = "plumberd_wire_name"
OMIT_IF_NONE = "plumberd_omit_if_none"


@overload
def field(*, default: _T, wire_name: str | None = None, omit_if_none: bool = False) -> _T: ...
@overload
def field(
    *, default_factory: Callable[[], _T], wire_name: str | None = None, omit_if_none: bool = False
) -> _T: ...
@overload
def field(*, wire_name: str | None = None, omit_if_none: bool = False) -> Any: ...
def field(
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    wire_name: str | None = None,
    omit_if_none: bool = False,
) -> Any:
    """Declare a field with a default and/or wire rules (works on events and plain dataclasses).

    ``wire_name`` is the exact C# property name (``"UserID"``) when the PascalCase default
    (``user_id`` -> ``"UserId"``) does not match. ``omit_if_none=True`` leaves the key out of the
    body when the value is ``None``: what a C# ``Option<T>`` property reads as "not set"
    (sending ``null`` would mean "set to null").
    """
    if wire_name is not None and (not isinstance(wire_name, str) or not wire_name):
        raise ValueError(f"field(wire_name=...): expected a non-empty str, got {wire_name!r}")
    metadata: dict[str, Any] = {}
    if wire_name is not None:
        metadata[WIRE_NAME] = wire_name
    if omit_if_none:
        metadata[OMIT_IF_NONE] = True
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def _checked_event_type(cls: type, event_type: str | None) -> str:
    if event_type is None:
        return cls.__name__
    if (
        not isinstance(event_type, str)
        or not event_type.strip()
        or event_type != event_type.strip()
    ):
        raise ValueError(
            f"{cls.__name__}(event_type=...): expected a non-empty C# type name without "
            f"surrounding spaces, got {event_type!r}"
        )
    return event_type


def _as_uuid(value: object) -> UUID:
    """Accept a UUID or its string form (any case, with or without braces)."""
    guid = parse_guid(value)
    if guid is None:
        raise ValueError(f"Event.id: expected a UUID or a GUID string, got {value!r}")
    return guid


@dataclass_transform(kw_only_default=True, field_specifiers=(field, dataclasses.field))
class _EventBase:
    """Makes every subclass a keyword-only dataclass and reads the class keywords."""

    #: The C# type name written as the EventStore event type (default: the class name).
    __event_type__: ClassVar[str] = "Event"
    #: The default stream category, or None when the class has no stream rule.
    __category__: ClassVar[str | None] = None
    #: Name of the field holding the stream id, or None for a stream named just ``{Category}``.
    __stream_id_field__: ClassVar[str | None] = None
    #: Per-attribute C# names for attributes assigned in a custom ``__init__``.
    __wire_names__: ClassVar[Mapping[str, str]] = {}
    #: Attributes left out of the body when they are None (C# ``Option<T>``).
    __omit_if_none__: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(
        cls,
        *,
        event_type: str | None = None,
        category: str | None = None,
        stream_id_field: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.__event_type__ = _checked_event_type(cls, event_type)
        if category is not None:
            check_category(category, what=f"{cls.__name__}(category=...)")
            cls.__category__ = category
        if stream_id_field is not None:
            if not isinstance(stream_id_field, str) or not stream_id_field.isidentifier():
                raise ValueError(
                    f"{cls.__name__}(stream_id_field=...): expected a field name, "
                    f"got {stream_id_field!r}"
                )
            if cls.__category__ is None:
                raise ValueError(f"{cls.__name__}(stream_id_field=...) needs category=... as well")
            cls.__stream_id_field__ = stream_id_field
        if not isinstance(cls.__dict__.get("__omit_if_none__", frozenset()), frozenset):
            cls.__omit_if_none__ = frozenset(cls.__dict__["__omit_if_none__"])
        # Annotated fields become a keyword-only dataclass; a class with its own __init__
        # keeps it (dataclasses never overwrite a method the class defines).
        dataclasses.dataclass(kw_only=True, eq=False, repr=False)(cls)


class Event(_EventBase):
    """Base class of events; subclasses are keyword-only dataclasses unless they have ``__init__``.

    >>> class RecordingFinished(Event):
    ...     recording_id: str
    ...     duration: float
    >>> e = RecordingFinished(recording_id="rec-1", duration=1.5)
    >>> e.recording_id, isinstance(e.id, UUID)
    ('rec-1', True)
    """

    id: UUID = field(default_factory=new_event_id)

    def __post_init__(self) -> None:
        given: object = self.id  # a GUID string is accepted too
        if not isinstance(given, UUID):
            self.id = _as_uuid(given)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({items})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq


def event_type_of(event: object) -> str:
    """The EventStore event type: the class's ``__event_type__``, else the class name."""
    name = getattr(type(event), "__event_type__", None)
    return name if isinstance(name, str) else type(event).__name__
