"""Python values to JSON-ready values the way C# System.Text.Json reads them (wire-format.md E4).

Machinery shared by the body codec and the metadata builder. Errors are ``InvalidEvent`` with the
path of the offending value *relative to the value converted*; callers prefix their own part.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import numbers
import os
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from types import ModuleType, NoneType, UnionType
from typing import Any, Literal
from uuid import UUID

import orjson

from plumberd_logging._clock import format_timestamp
from plumberd_logging._guid import parse_guid
from plumberd_logging._ids import id_text
from plumberd_logging.errors import InvalidEvent
from plumberd_logging.events import OMIT_IF_NONE, WIRE_NAME, Event

__all__ = [
    "JsonNumber",
    "JsonReady",
    "ValueConverter",
    "format_datetime",
    "format_epoch_utc",
    "format_time",
    "format_timespan",
    "wire_name",
]

NaiveDatetimes = Literal["reject", "utc"]


_MAX_DEPTH = 100
_MAX_CS_DAYS = 10_675_199  # TimeSpan.MaxValue.Days
_MAX_CS_INT = 2**96 - 1  # the widest C# number (decimal) holds 96 bits
_MIN_I64, _MAX_U64 = -(2**63), 2**64 - 1  # what the JSON encoder writes as an int itself
_PASCAL: dict[str, str] = {}
_ZERO = timedelta(0)


def wire_name(attr: str) -> str:
    """The default C# property name of a Python attribute: ``recording_id`` -> ``RecordingId``."""
    try:
        return _PASCAL[attr]
    except KeyError:
        name = "".join(p[:1].upper() + p[1:] for p in attr.split("_") if p)
        if len(_PASCAL) < 65_536:
            _PASCAL[attr] = name
        return name


def format_datetime(dt: datetime, *, utc_as_z: bool, naive: NaiveDatetimes = "reject") -> str:
    """ISO 8601 with an explicit offset and at most 7 fraction digits (trailing zeros trimmed)."""
    offset = dt.utcoffset()
    if offset is None:
        if naive != "utc":
            raise InvalidEvent(
                "naive datetime (no UTC offset); C# would read it in its own local time zone. "
                "Use an aware datetime such as datetime.now(timezone.utc), or "
                "Codec(naive_datetimes='utc') to treat naive values as UTC"
            )
        dt = dt.replace(tzinfo=timezone.utc)
        offset = _ZERO
    if offset.microseconds or offset.seconds % 60:
        raise InvalidEvent(f"UTC offset {offset} has seconds; C# offsets are whole minutes")
    # isoformat() is "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM" (always a 4-digit year)
    text = dt.isoformat()
    if dt.microsecond:
        text = text[:26].rstrip("0") + text[26:]
    if utc_as_z and not offset:
        return text[:-6] + "Z"
    return text


def format_time(t: time) -> str:
    """``HH:MM:SS[.fffffff]``, the text of a C# ``TimeOnly``."""
    if t.tzinfo is not None:
        raise InvalidEvent("time with a time zone; C# TimeOnly has no offset")
    text = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond * 10:07d}" if t.microsecond else text


def format_timespan(td: timedelta) -> str:
    """.NET ``TimeSpan`` constant format ``[-][d.]hh:mm:ss[.fffffff]``."""
    total_us = td // timedelta(microseconds=1)
    sign = "-" if total_us < 0 else ""
    rest, us = divmod(abs(total_us), 1_000_000)
    rest, secs = divmod(rest, 60)
    days, rest = divmod(rest, 60 * 24)
    hours, mins = divmod(rest, 60)
    if days > _MAX_CS_DAYS:
        raise InvalidEvent(f"timedelta of {days} days is outside the range of a C# TimeSpan")
    text = f"{sign}{days}." if days else sign
    text += f"{hours:02d}:{mins:02d}:{secs:02d}"
    return f"{text}.{us * 10:07d}" if us else text


class JsonNumber:
    """A number whose exact JSON text is given (an int beyond 64 bits, a float below 1e-4 in
    Python's ``repr`` notation); the codec writes ``text`` unquoted, ``value`` is the number."""

    __slots__ = ("text", "value")

    def __init__(self, text: str, value: int | float) -> None:
        self.text = text
        self.value = value

    def __repr__(self) -> str:
        return f"JsonNumber({self.text})"


class JsonReady(dict[str, Any]):
    """A body whose values are already JSON-ready (built by the library, e.g. a log event):
    the codec writes it as it is, without converting every value again."""

    __slots__ = ()


def format_epoch_utc(timestamp: float) -> str:
    """A Unix timestamp as UTC ISO 8601 text (``...Z``, trimmed fraction), cached per second."""
    return format_timestamp(timestamp, utc=True)


class ValueConverter:
    """Converts Python values to JSON-ready values (``str``, numbers, lists, dicts, ``None``).

    Objects (events, dataclasses, pydantic models, plain objects) become dicts keyed by C#
    property names; dictionary keys are kept as they are.
    """

    def __init__(self, *, naive_datetimes: NaiveDatetimes = "reject", string_enums: bool = False):
        if naive_datetimes not in ("reject", "utc"):
            raise ValueError(
                f"naive_datetimes: expected 'reject' or 'utc', got {naive_datetimes!r}"
            )
        if not isinstance(string_enums, bool):
            raise TypeError(f"string_enums: expected bool, got {string_enums!r}")
        self.naive_datetimes: NaiveDatetimes = naive_datetimes
        self.string_enums = string_enums
        # Per class: the compiled encoder of its field layout, or None (the generic loop), and
        # the same layout's plan for the C accelerator (read by Codec.encode).
        self._compiled: dict[type, _Compiled | None] = {}
        self._native: dict[type, NativePlan] = {}
        self._exact: dict[type, Callable[[Any, int], Any]] = {
            float: self._float,
            UUID: _uuid,
            datetime: self._datetime,
            date: _date,
            time: _time,
            timedelta: _timedelta,
            Decimal: _decimal,
            bytes: _bytes,
            bytearray: _bytes,
            list: self._list,
            tuple: self._list,
            dict: self._dict,
        }

    def convert(self, value: Any, depth: int = 0) -> Any:
        """The JSON-ready form of ``value``; raises ``InvalidEvent`` naming the relative path."""
        t = type(value)
        if t is str or t is int or t is bool or value is None:
            if t is int and not _MIN_I64 <= value <= _MAX_U64:
                if not -_MAX_CS_INT <= value <= _MAX_CS_INT:
                    raise InvalidEvent(f"integer {value} does not fit any C# number type")
                return JsonNumber(str(value), value)
            return value
        handler = self._exact.get(t)
        if handler is not None:
            return handler(value, depth)
        return self._slow(value, depth)

    def object_fields(self, obj: object, depth: int = 0) -> dict[str, Any]:
        """The body of an object: its public fields under their C# names, values converted."""
        if depth > _MAX_DEPTH:
            raise InvalidEvent(f"nested deeper than {_MAX_DEPTH} levels (a reference cycle?)")
        cls = type(obj)
        try:
            compiled = self._compiled[cls]
        except KeyError:
            made = _compile(cls, obj, self.convert)
            compiled = self._compiled[cls] = made[0] if made is not None else None
            if made is not None:
                self._native[cls] = made[1]
        if compiled is not None:
            fast = compiled(obj, depth)
            if fast is not None:
                return fast
        plan = _plan_for(cls)
        out: dict[str, Any] = {}
        for attr, value in plan.items(obj):
            if value is None and attr in plan.omit_if_none:
                continue
            try:
                check = plan.checks.get(attr)
                converted = self.convert(value if check is None else check(value), depth + 1)
            except InvalidEvent as exc:
                raise InvalidEvent(exc.reason, f".{attr}{exc.path}") from None
            name = plan.wire.get(attr) or wire_name(attr)
            if name in out:
                raise InvalidEvent(
                    f"two attributes map to the C# name {name!r}; set a wire name on one of them",
                    f".{attr}",
                )
            out[name] = converted
        return out

    # -- handlers ------------------------------------------------------------------------------

    def _float(self, value: float, depth: int) -> float | JsonNumber:
        if not math.isfinite(value):
            raise InvalidEvent(f"float {value} is not valid JSON")
        number = float(value)
        if number and -1e-4 < number < 1e-4:  # written 1e-05 as Python (and json) write it
            return JsonNumber(repr(number), number)
        return number

    def _datetime(self, value: datetime, depth: int) -> str:
        return format_datetime(value, utc_as_z=True, naive=self.naive_datetimes)

    def _list(self, value: Sequence[Any] | AbstractSet[Any], depth: int) -> list[Any]:
        if depth > _MAX_DEPTH:
            raise InvalidEvent(f"nested deeper than {_MAX_DEPTH} levels (a reference cycle?)")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(self.convert(item, depth + 1))
            except InvalidEvent as exc:
                raise InvalidEvent(exc.reason, f"[{i}]{exc.path}") from None
        return out

    def _dict(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise InvalidEvent(f"nested deeper than {_MAX_DEPTH} levels (a reference cycle?)")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str | UUID):
                name = str(key)
            elif isinstance(key, int) and not isinstance(key, bool):
                name = str(int(key))
            else:
                raise InvalidEvent(
                    f"dictionary key {key!r} is a {type(key).__name__}; C# dictionary keys are "
                    "strings (str, int and UUID keys are accepted)"
                )
            try:
                out[name] = self.convert(item, depth + 1)
            except InvalidEvent as exc:
                raise InvalidEvent(exc.reason, f"[{key!r}]{exc.path}") from None
        return out

    def _slow(self, value: Any, depth: int) -> Any:
        if isinstance(value, Enum):
            return self._enum(value)
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, str):
            return str(value)
        if isinstance(value, int):
            return self.convert(int(value), depth)
        if isinstance(value, float):
            return self._float(value, depth)
        if isinstance(value, tuple) and hasattr(type(value), "_fields"):  # NamedTuple
            return self.object_fields(value, depth)
        for cls, handler in self._exact.items():
            if isinstance(value, cls):
                return handler(value, depth)
        if isinstance(value, Mapping):
            return self._dict(value, depth)
        if isinstance(value, Sequence | AbstractSet) and not isinstance(value, bytes | str):
            items = sorted(value) if isinstance(value, AbstractSet) and _sortable(value) else value
            return self._list(items, depth)
        if isinstance(value, numbers.Integral):
            return self.convert(int(value), depth)
        if isinstance(value, numbers.Real):
            return self._float(float(value), depth)
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if hasattr(value, "dtype") and callable(getattr(value, "tolist", None)):  # numpy
            return self.convert(value.tolist(), depth)
        if _has_fields(value):
            return self.object_fields(value, depth)
        raise InvalidEvent(
            f"cannot write a value of type {type(value).__name__}; expected str, int, float, "
            "bool, None, UUID, datetime, date, time, timedelta, Decimal, bytes, an int Enum, "
            "a list, a dict, or an object with fields (Event, dataclass, pydantic model)"
        )

    def _enum(self, value: Enum) -> Any:
        raw = value.value
        if isinstance(raw, int) and not isinstance(raw, bool):
            return int(raw)
        if isinstance(raw, str) and self.string_enums:
            return str(raw)
        hint = (
            "; C# reads enums as integers: use IntEnum, or string_enums=True when the C# enum "
            "has a JsonStringEnumConverter"
            if isinstance(raw, str)
            else "; C# reads enums as integers"
        )
        raise InvalidEvent(f"enum {type(value).__name__}.{value.name} has value {raw!r}{hint}")


def _uuid(value: UUID, depth: int) -> str:
    return id_text(value)


def _date(value: date, depth: int) -> str:
    return value.isoformat()


def _time(value: time, depth: int) -> str:
    return format_time(value)


def _timedelta(value: timedelta, depth: int) -> str:
    return format_timespan(value)


def _bytes(value: bytes | bytearray, depth: int) -> str:
    return base64.b64encode(value).decode("ascii")


def _decimal(value: Decimal, depth: int) -> Decimal:
    """Kept a Decimal: the codec writes its exact digits as a JSON number (``20.00``)."""
    if not value.is_finite():
        raise InvalidEvent(f"Decimal {value} is not valid JSON")
    return value


def _sortable(values: AbstractSet[Any]) -> bool:
    try:
        sorted(values)
    except TypeError:
        return False
    return True


def _has_fields(value: object) -> bool:
    if isinstance(value, Event) or dataclasses.is_dataclass(value):
        return not isinstance(value, type)
    if isinstance(value, type | ModuleType) or callable(value):
        return False
    return hasattr(type(value), "model_fields") or hasattr(value, "__dict__")


# -- per-class plans ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """How to read the public fields of one class, their C# names and the checks on their values."""

    items: Callable[[Any], Iterator[tuple[str, Any]]]
    wire: Mapping[str, str]
    omit_if_none: frozenset[str]
    checks: Mapping[str, Callable[[Any], Any]]


_PLANS: dict[type, _Plan] = {}


def _plan_for(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _build_plan(cls)
    return plan


def _public_vars(obj: Any) -> Iterator[tuple[str, Any]]:
    for k, v in vars(obj).items():
        if k[:1] != "_":
            yield k, v


def _build_plan(cls: type) -> _Plan:
    wire: dict[str, str] = {}
    omit: set[str] = set()
    checks: dict[str, Callable[[Any], Any]] = {}
    items: Callable[[Any], Iterator[tuple[str, Any]]] = _public_vars
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, Mapping):  # pydantic v2: declared fields, aliases, then extras
        names = [n for n in model_fields if n[:1] != "_"]
        for name, info in model_fields.items():
            alias = getattr(info, "serialization_alias", None) or getattr(info, "alias", None)
            if isinstance(alias, str) and alias:
                wire[name] = alias

        def items(obj: Any) -> Iterator[tuple[str, Any]]:
            for n in names:
                yield n, getattr(obj, n)
            yield from ((k, v) for k, v in (obj.__pydantic_extra__ or {}).items() if k[:1] != "_")

    elif issubclass(cls, tuple) and hasattr(cls, "_fields"):  # NamedTuple: fields by position
        tuple_names: tuple[str, ...] = cls._fields

        def items(obj: Any) -> Iterator[tuple[str, Any]]:
            for n, v in zip(tuple_names, obj, strict=True):
                if n[:1] != "_":
                    yield n, v

    elif dataclasses.is_dataclass(cls):
        hints = _type_hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.name[:1] != "_"]
        for f in fields:
            if WIRE_NAME in f.metadata:
                wire[f.name] = f.metadata[WIRE_NAME]
            if f.metadata.get(OMIT_IF_NONE):
                omit.add(f.name)
            check = _checker(hints.get(f.name))
            if check is not None:
                checks[f.name] = check
        if not issubclass(cls, Event):
            names = [f.name for f in fields]

            def items(obj: Any) -> Iterator[tuple[str, Any]]:
                for n in names:
                    yield n, getattr(obj, n)

    if issubclass(cls, Event):
        for klass in reversed(cls.__mro__):
            wire.update(klass.__dict__.get("__wire_names__", {}))
            omit.update(klass.__dict__.get("__omit_if_none__", ()))
    for attr, name in wire.items():
        if not isinstance(name, str) or not name:
            raise InvalidEvent(f"wire name for {attr!r} must be a non-empty str, got {name!r}")
    return _Plan(items, wire, frozenset(omit), checks)


# -- per-class compiled encoders ---------------------------------------------------------------

#: A compiled encoder: the body of an object with the layout it was compiled for, else None.
_Compiled = Callable[[Any, int], "dict[str, Any] | None"]

# Exact-type tests under which a value is already JSON-ready as it is (or, for UUID, its text).
_BRANCHES = {
    "none": "if v is None: out[{n}] = None",
    "str": "if type(v) is str: out[{n}] = v",
    "bool": "if type(v) is bool: out[{n}] = v",
    "int": f"if type(v) is int and {_MIN_I64} <= v <= {_MAX_U64}: out[{{n}}] = v",
    "float": (
        "if type(v) is float and (v >= 1e-4 or v <= -1e-4 or v == 0.0) and v - v == 0.0: "
        "out[{n}] = v"
    ),
    "uuid": "if type(v) is UUID: out[{n}] = id_text(v)",
}
_KINDS = {str: "str", bool: "bool", int: "int", float: "float", UUID: "uuid"}
# The same kinds for the C accelerator (its KIND_* flags).
_KIND_BITS = {"none": 1, "str": 2, "bool": 4, "int": 8, "float": 16, "uuid": 32}
#: One field for ``_speedups.object_json``: the JSON of its C# name and ``:``, its kinds'
#: flags, omitted when None, is the ``Id``.
NativeField = tuple[bytes, int, bool, bool]
#: A compiled layout for ``_speedups.object_json``: the attribute names, a field (or None) each.
NativePlan = tuple[tuple[str, ...], tuple["NativeField | None", ...]]


def _field_kinds(hint: Any, check: Callable[[Any], Any] | None) -> list[str]:
    """The fast branches valid for a field: all without a check, else its declared type's."""
    if check is None:
        return ["str", "float", "int", "bool", "none", "uuid"]
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) in (typing.Union, UnionType) and NoneType in args
    if optional:
        rest = [a for a in args if a is not NoneType]
        hint = rest[0] if len(rest) == 1 else None
    kind = _KINDS.get(hint) if isinstance(hint, type) else None
    return ([kind] if kind else []) + (["none"] if optional else [])


def _compile(
    cls: type, sample: object, convert: Callable[[Any, int], Any]
) -> tuple[_Compiled, NativePlan] | None:
    """Generate a function writing the body of ``cls`` objects laid out as ``sample`` is, and
    the same plan for the C accelerator (``_speedups.object_json``).

    Objects with another attribute layout (added, removed or reordered attributes) get None
    from it and take the generic loop; so do values outside the fast exact-type branches.
    """
    plan = _plan_for(cls)
    layout = getattr(sample, "__dict__", None)
    if plan.items is not _public_vars or not isinstance(layout, dict) or len(layout) > 200:
        return None
    keys = tuple(layout)
    hints = _type_hints(cls) if dataclasses.is_dataclass(cls) else {}
    names: set[str] = set()
    lines = [
        "def encode(obj, depth):",
        "    d = obj.__dict__",
        "    if tuple(d) != KEYS: return None",
    ]
    lines.append("    out = {}")
    env: dict[str, Any] = {"KEYS": keys, "UUID": UUID, "id_text": id_text}
    fields: list[NativeField | None] = []
    for i, attr in enumerate(keys):
        if not isinstance(attr, str) or attr[:1] == "_":
            fields.append(None)
            continue
        name = plan.wire.get(attr) or wire_name(attr)
        if name in names:
            return None  # the generic loop names the clash
        names.add(name)
        check = plan.checks.get(attr)
        env[f"s{i}"] = _slow_field(attr, check, convert)
        n = repr(name)
        indent = "    "
        lines.append(f"    v = d[{attr!r}]")
        if attr in plan.omit_if_none:
            lines.append("    if v is not None:")
            indent = "        "
        kinds = _field_kinds(hints.get(attr), check)
        bits = sum(_KIND_BITS[kind] for kind in kinds)
        fields.append((orjson.dumps(name) + b":", bits, attr in plan.omit_if_none, name == "Id"))
        for j, kind in enumerate(kinds):
            branch = _BRANCHES[kind].format(n=n)
            lines.append(f"{indent}{'el' if j else ''}{branch}")
        slow = f"out[{n}] = s{i}(v, depth)"
        lines.append(f"{indent}else: {slow}" if kinds else f"{indent}{slow}")
    lines.append("    return out")
    exec("\n".join(lines), env)  # generated from attribute names written with repr()
    compiled: _Compiled = env["encode"]
    return compiled, (keys, tuple(fields))


def _slow_field(
    attr: str, check: Callable[[Any], Any] | None, convert: Callable[[Any, int], Any]
) -> Callable[[Any, int], Any]:
    def slow(value: Any, depth: int) -> Any:
        try:
            return convert(value if check is None else check(value), depth + 1)
        except InvalidEvent as exc:
            raise InvalidEvent(exc.reason, f".{attr}{exc.path}") from None

    return slow


def _type_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: no checks for this class
        return {}


def _checker(hint: Any) -> Callable[[Any], Any] | None:
    """A check for a declared field type, or None when the type is not one we check."""
    if hint is None or hint is Any:
        return None
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is UnionType:
        args = typing.get_args(hint)
        if NoneType not in args:
            return None
        rest = [a for a in args if a is not NoneType]
        inner = _checker(rest[0]) if len(rest) == 1 else None
        if inner is None:
            return None
        return lambda v: v if v is None else inner(v)
    if origin is not None:  # list[X], dict[str, X], Literal[...]: the converter checks contents
        return _not_none(hint) if isinstance(origin, type) else None
    if not isinstance(hint, type):
        return None
    if hint is float:
        return _check_float
    if hint is int:
        return _check_int
    if hint is UUID:
        return _check_uuid
    if hint is Decimal:
        return _check_decimal
    if hint is date:
        return _check_date
    if issubclass(hint, Enum):
        return _enum_checker(hint)
    if hint is bytes:
        return _require((bytes, bytearray), hint)
    if hint in (str, bool, datetime, time, timedelta):
        return _require(hint, hint)
    return _not_none(hint)


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or repr(hint)


def _none_error(hint: Any) -> InvalidEvent:
    return InvalidEvent(
        f"None is not allowed: the field is declared {_describe(hint)}, not Optional "
        "(C# throws reading null into a non-nullable value)"
    )


def _require(cls: type | tuple[type, ...], hint: Any) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v is None:
            raise _none_error(hint)
        if not isinstance(v, cls):
            raise InvalidEvent(f"expected {_describe(hint)}, got {type(v).__name__} {v!r}")
        return v

    return check


def _not_none(hint: Any) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v is None:
            raise _none_error(hint)
        return v

    return check


def _check_float(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float | numbers.Real):
        raise (_none_error(float) if v is None else InvalidEvent(f"expected float, got {v!r}"))
    return v


def _check_int(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | numbers.Integral):
        if v is None:
            raise _none_error(int)
        raise InvalidEvent(
            f"expected int, got {type(v).__name__} {v!r} (C# int/long cannot read a fraction)"
        )
    return v


def _check_uuid(v: Any) -> Any:
    if v is None:
        raise _none_error(UUID)
    guid = parse_guid(v)
    if guid is None:
        raise InvalidEvent(f"expected a UUID or GUID string, got {v!r}")
    return guid


def _check_decimal(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    if isinstance(v, float):  # pydantic-style: the shortest repr, not the binary expansion
        return Decimal(repr(v)) if math.isfinite(v) else Decimal(v)
    if v is None:
        raise _none_error(Decimal)
    raise InvalidEvent(f"expected Decimal, got {type(v).__name__} {v!r}")


def _check_date(v: Any) -> Any:
    if isinstance(v, datetime):
        raise InvalidEvent(f"expected date, got datetime {v!r} (C# DateOnly has no time part)")
    if not isinstance(v, date):
        raise _none_error(date) if v is None else InvalidEvent(f"expected date, got {v!r}")
    return v


def _enum_checker(enum_cls: type[Enum]) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if isinstance(v, enum_cls):
            return v
        if v is None:
            raise _none_error(enum_cls)
        try:
            return enum_cls(v)
        except ValueError:
            raise InvalidEvent(f"{v!r} is not a value of {enum_cls.__name__}") from None

    return check
