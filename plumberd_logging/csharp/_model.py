"""Python classes -> the C# types that read their JSON: the contract both render and check use.

    contract = build_contract([OrderPlaced], namespace="Shop.Orders.Events")
    [r.name for r in contract.records]                    # ['OrderPlaced', 'LineItem']
    [p.cs.text() for p in contract.records[0].properties] # ['Guid', 'Guid', 'List<LineItem>', ...]

Every property carries the JSON key the codec writes (its own naming rule, ``_wire_names``), the C#
type System.Text.Json reads that JSON into, and the Python type as written in the class.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import inspect
import os
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import NoneType, UnionType
from typing import Any
from uuid import UUID

from plumberd_logging._values import wire_name
from plumberd_logging._wire_names import omitted_if_none, property_names
from plumberd_logging.events import Event

__all__ = [
    "Contract",
    "CsType",
    "EnumMember",
    "PyEnum",
    "PyProperty",
    "PyRecord",
    "build_contract",
    "category_of_namespace",
    "cs_identifier",
    "is_identifier",
]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: C# keywords (a property named like one needs ``@``).
_KEYWORD_TEXT = """
abstract as base bool break byte case catch char checked class const continue decimal default
delegate do double else enum event explicit extern false finally fixed float for foreach goto if
implicit in int interface internal is lock long namespace new null object operator out override
params private protected public readonly ref return sbyte sealed short sizeof stackalloc static
string struct switch this throw true try typeof uint ulong unchecked unsafe ushort using virtual
void volatile while
"""
CS_KEYWORDS = frozenset(_KEYWORD_TEXT.split())


@dataclasses.dataclass(frozen=True)
class CsType:
    """A C# type: ``name`` is a simple name (``Guid``, ``LineItem``), or ``List``, ``Array``,
    ``Dictionary`` with ``args``; ``nullable`` adds ``?``."""

    name: str
    args: tuple[CsType, ...] = ()
    nullable: bool = False

    def text(self) -> str:
        """The C# spelling: ``List<string>``, ``int[]``, ``Dictionary<string, Guid>?``."""
        if self.name == "Array":
            core = f"{self.args[0].text()}[]"
        elif self.args:
            core = f"{self.name}<{', '.join(a.text() for a in self.args)}>"
        else:
            core = self.name
        return core + "?" if self.nullable else core

    def with_nullable(self, nullable: bool) -> CsType:
        return dataclasses.replace(self, nullable=nullable)


@dataclasses.dataclass(frozen=True)
class PyProperty:
    """One JSON key of a record: ``wire`` (the C# property name), its C# and Python types."""

    wire: str
    cs: CsType
    python: str
    note: str | None = None  # why the C# type is JsonElement (``Python: int | str``)
    omit_if_none: bool = False


@dataclasses.dataclass(frozen=True)
class PyRecord:
    """A C# record for a Python class (``is_event``: an event type, else a nested type)."""

    name: str
    origin: str  # the Python class, ``module.QualName``
    namespace: str
    properties: tuple[PyProperty, ...]
    is_event: bool
    category: str | None = None
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class EnumMember:
    name: str  # the C# member name
    value: int
    python: str  # the Python member name


@dataclasses.dataclass(frozen=True)
class PyEnum:
    name: str
    origin: str
    namespace: str
    members: tuple[EnumMember, ...]


@dataclasses.dataclass(frozen=True)
class Contract:
    """What the Python side writes: records (events first) and enums, in a stable order."""

    records: tuple[PyRecord, ...]
    enums: tuple[PyEnum, ...]

    def events(self) -> list[PyRecord]:
        return [r for r in self.records if r.is_event]

    def record(self, name: str) -> PyRecord | None:
        return next((r for r in self.records if r.name == name), None)

    def enum(self, name: str) -> PyEnum | None:
        return next((e for e in self.enums if e.name == name), None)


def is_identifier(name: str) -> bool:
    return _IDENT.fullmatch(name) is not None


def cs_identifier(name: str) -> str:
    """``name`` as a C# identifier (``@`` before a keyword)."""
    return "@" + name if name in CS_KEYWORDS else name


def category_of_namespace(namespace: str | None) -> str | None:
    """MicroPlumberd's category rule: the last namespace segment other than ``Events``."""
    for part in reversed((namespace or "").split(".")):
        if part and part != "Events":
            return part
    return None


def namespace_of_module(module: str) -> str:
    """``myapp.order_events`` -> ``Myapp.OrderEvents`` (private ``_x`` parts dropped)."""
    parts = [wire_name(p) for p in module.split(".") if p and not p.startswith("_")]
    return ".".join(p for p in parts if is_identifier(p)) or "Events"


def origin_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def type_name_of(cls: type) -> str:
    """The C# type name of a class: an event's type name, else the class name."""
    name = getattr(cls, "__event_type__", None) if issubclass(cls, Event) else None
    return name if isinstance(name, str) else cls.__name__


def _has_fields(cls: type) -> bool:
    if issubclass(cls, Event) or dataclasses.is_dataclass(cls):
        return True
    if isinstance(getattr(cls, "model_fields", None), Mapping):  # pydantic v2
        return True
    return issubclass(cls, tuple) and hasattr(cls, "_fields")  # NamedTuple


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj, include_extras=False)
    except Exception:  # an unresolvable forward reference: those fields read as JsonElement
        return dict(getattr(obj, "__annotations__", {}))


def _fields_of(cls: type) -> tuple[list[tuple[str, Any]], str | None]:
    """The attributes the codec writes for ``cls`` with their annotations, and a note."""
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, Mapping):
        return [(n, f.annotation) for n, f in model_fields.items() if n[:1] != "_"], None
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        hints = _hints(cls)
        return [(n, hints.get(n, Any)) for n in cls._fields if n[:1] != "_"], None
    hints = _hints(cls)
    fields = [
        (f.name, hints.get(f.name, Any)) for f in dataclasses.fields(cls) if f.name[:1] != "_"
    ]
    if issubclass(cls, Event):
        custom = _custom_init_fields(cls, {n for n, _ in fields})
        if custom is not None:
            known = {n for n, _ in fields}
            fields += [(n, h) for n, h in custom if n not in known]
            return fields, "attributes from the parameters of its __init__"
    return fields, None


def _custom_init_fields(cls: type, fields: set[str]) -> list[tuple[str, Any]] | None:
    """For the py-micro-plumberd style (``__init__`` assigning attributes): its parameters."""
    try:
        init = vars(cls).get("__init__") or getattr(cls, "__init__")  # noqa: B009
        params = inspect.signature(init).parameters
    except (TypeError, ValueError):
        return None
    named = [
        p
        for p in list(params.values())[1:]
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if {p.name for p in named} <= fields:
        return None
    hints = _hints(init)
    return [(p.name, hints.get(p.name, Any)) for p in named if p.name[:1] != "_"]


def _python_text(hint: Any) -> str:
    if hint is NoneType:
        return "None"
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    text = repr(hint)
    return re.sub(r"\b(typing|collections\.abc|datetime|decimal|uuid|builtins)\.", "", text)


def _enum_member_name(name: str) -> str:
    if name.isupper() or "_" in name:
        return "".join(p[:1].upper() + p[1:].lower() for p in name.split("_") if p) or name
    return name[:1].upper() + name[1:]


_SCALARS: tuple[tuple[type, str], ...] = (
    (bool, "bool"),
    (int, "int"),
    (float, "double"),
    (Decimal, "decimal"),
    (str, "string"),
    (UUID, "Guid"),
    (datetime, "DateTimeOffset"),
    (date, "DateOnly"),
    (time, "TimeOnly"),
    (timedelta, "TimeSpan"),
    (bytes, "byte[]"),
    (bytearray, "byte[]"),
)
_LISTS = (list, Sequence, typing.MutableSequence, Iterable, typing.Collection)
_SETS = (set, frozenset, AbstractSet, typing.MutableSet, tuple)
_MAPS = (dict, Mapping, typing.MutableMapping)
_ANY = CsType("JsonElement")


class _Builder:
    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace
        self.records: dict[type, PyRecord | None] = {}  # None: being built
        self.enums: dict[type, PyEnum] = {}
        self.order: list[type] = []

    def _namespace(self, cls: type) -> str:
        return self.namespace or namespace_of_module(cls.__module__)

    def add(self, cls: type, *, is_event: bool) -> None:
        if cls in self.records:
            return
        self.records[cls] = None
        self.order.append(cls)
        fields, note = _fields_of(cls)
        names = property_names(cls, [n for n, _ in fields])
        omit = omitted_if_none(cls)
        props = []
        for attr, hint in fields:
            cs, py, why = self.map(hint)
            props.append(PyProperty(names[attr], cs, py, why, attr in omit))
        category = getattr(cls, "__category__", None) if issubclass(cls, Event) else None
        self.records[cls] = PyRecord(
            name=type_name_of(cls),
            origin=origin_of(cls),
            namespace=self._namespace(cls),
            properties=tuple(props),
            is_event=is_event,
            category=category,
            note=note,
        )

    def map(self, hint: Any) -> tuple[CsType, str, str | None]:
        """(C# type, Python text, note when it is JsonElement) of one annotation."""
        py = _python_text(hint)
        cs = self._map(hint)
        if cs.name == "JsonElement":
            return cs, py, f"Python: {py}"
        if isinstance(hint, type) and issubclass(hint, enum.Enum) and cs.name == "string":
            return cs, py, f"Python: {py}, string values: written with Codec(string_enums=True)"
        return cs, py, None

    def _map(self, hint: Any) -> CsType:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is typing.Annotated:
            return self._map(args[0])
        if origin is typing.Union or origin is UnionType:
            rest = [a for a in args if a is not NoneType]
            inner = self._map(rest[0]) if len(rest) == 1 else _ANY
            return inner.with_nullable(NoneType in args)
        if origin is typing.Literal:
            if all(isinstance(a, str) for a in args):
                return CsType("string")
            if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
                return CsType("int")
            return _ANY
        supertype = getattr(hint, "__supertype__", None)  # NewType
        if supertype is not None:
            return self._map(supertype)
        if origin is not None:
            return self._map_generic(origin, args)
        if not isinstance(hint, type) or hint is object:
            return _ANY
        if issubclass(hint, enum.Enum):
            return self._map_enum(hint)
        for py, cs in _SCALARS:
            if issubclass(hint, py) and not (py is date and issubclass(hint, datetime)):
                return CsType(cs)
        if issubclass(hint, os.PathLike):
            return CsType("string")
        if _has_fields(hint):
            self.add(hint, is_event=False)
            return CsType(type_name_of(hint))
        if hint in _LISTS or hint in (set, frozenset, tuple):
            return CsType("List", (_ANY,))
        if hint in _MAPS:
            return CsType("Dictionary", (CsType("string"), _ANY))
        return _ANY

    def _map_generic(self, origin: Any, args: tuple[Any, ...]) -> CsType:
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return CsType("Array", (self._map(args[0]),))
            items = {self._map(a) for a in args}
            return CsType("Array", (items.pop() if len(items) == 1 else _ANY,))
        if origin in _MAPS or origin in (collections.defaultdict, collections.OrderedDict):
            key, value = (*args, Any, Any)[:2]
            key_cs = self._map(key)
            if key_cs.name not in ("int", "Guid"):
                key_cs = CsType("string")
            return CsType("Dictionary", (key_cs.with_nullable(False), self._map(value)))
        if origin in _SETS:
            return CsType("Array", (self._map(args[0]) if args else _ANY,))
        if origin in _LISTS:
            return CsType("List", (self._map(args[0]) if args else _ANY,))
        return _ANY

    def _map_enum(self, cls: type[enum.Enum]) -> CsType:
        values = [m.value for m in cls]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            if cls not in self.enums:
                members = tuple(EnumMember(_enum_member_name(m.name), m.value, m.name) for m in cls)
                self.enums[cls] = PyEnum(
                    cls.__name__, origin_of(cls), self._namespace(cls), members
                )
                self.order.append(cls)
            return CsType(cls.__name__)
        if values and all(isinstance(v, str) for v in values):
            return CsType("string")  # written only with Codec(string_enums=True)
        return _ANY

    def contract(self) -> Contract:
        records = [self.records[c] for c in self.order if c in self.records]
        return Contract(
            records=tuple(r for r in records if r is not None),
            enums=tuple(self.enums[c] for c in self.order if c in self.enums),
        )


def build_contract(classes: Iterable[type], *, namespace: str | None = None) -> Contract:
    """The records and enums the C# side needs to read events of ``classes``.

    ``classes`` are event classes (``Event`` subclasses, or dataclasses / pydantic models
    written with ``event_type=...``); nested types are added after them, in first-use order.
    """
    if namespace is not None and not all(is_identifier(p) for p in namespace.split(".")):
        raise ValueError(
            f"namespace: expected a C# namespace like 'Acme.Orders', got {namespace!r}"
        )
    builder = _Builder(namespace)
    given = list(dict.fromkeys(classes))
    for cls in given:
        if not isinstance(cls, type) or not _has_fields(cls):
            raise TypeError(
                f"classes: expected Event subclasses, dataclasses or pydantic models, got {cls!r}"
            )
    for cls in given:
        builder.add(cls, is_event=True)
    for cls in given:  # a class given and also nested elsewhere is still an event
        record = builder.records[cls]
        if record is not None and not record.is_event:
            builder.records[cls] = dataclasses.replace(record, is_event=True)
    contract = builder.contract()
    events = [r for r in contract.records if r.is_event]
    nested = [r for r in contract.records if not r.is_event]
    contract = Contract(tuple(events + nested), contract.enums)
    _check_unique(contract)
    return contract


def _check_unique(contract: Contract) -> None:
    seen: dict[tuple[str, str], str] = {}
    items: list[tuple[str, str, str]] = [(r.namespace, r.name, r.origin) for r in contract.records]
    items += [(e.namespace, e.name, e.origin) for e in contract.enums]
    for ns, name, origin in items:
        other = seen.setdefault((ns, name), origin)
        if other != origin:
            raise ValueError(
                f"{other} and {origin} would both be the C# type {ns}.{name}; rename one, "
                "give it event_type=..., or pass a different namespace"
            )
