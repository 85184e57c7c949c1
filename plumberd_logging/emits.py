"""``@emits``: each successful call of a decorated function becomes an event.

    from plumberd_logging import Event, configure, emits

    class RecordingFinished(Event, category="Recording", stream_id_field="recording_id"):
        recording_id: str
        duration: float
        file_path: str

    configure("esdb://localhost:2113?tls=false")     # or writer=... per decorator

    @emits(RecordingFinished)                         # stream: the class's rule
    def finish_recording(recording_id: str, duration: float, file_path: str) -> None:
        ...                                           # no EventStore code in here

    finish_recording("rec-1", 12.5, "/r/rec-1.mp4")
    # -> RecordingFinished {"Id": ..., "RecordingId": "rec-1", "Duration": 12.5, ...}
    #    appended to Recording-rec-1 by the writer's thread

Works on sync functions, ``async def`` functions and methods. Generators and async generators
are refused when decorated (their body runs after the call returns).

**Where the fields come from.** Looked up by field name, later sources winning:

1. the function's arguments (bound by parameter name, defaults applied; a parameter named
   ``id`` is never used: the event id is reserved as described below);
2. a mapping the function returns (``return {"duration": d}``);
3. ``fields=``, a callable ``(bound_args, result) -> mapping`` for anything else.

If the function returns an instance of the event class, that instance is the event, as is.
A required field nothing can supply is a ``TypeError`` naming it when the decorator is applied,
if the signature shows it (no ``**kwargs``, no ``fields=``, and a return annotation that cannot
be a mapping or the event: ``-> None``, ``-> float``, a ``TypedDict``...); otherwise the call
reports it (see "Failures").

**Which stream** (``stream=``):

* ``None`` (default): the event class's own rule (``category=``/``stream_id_field=``);
* a ``str`` or ``StreamName``: that stream;
* a template, ``"Recording-{recording_id}"``: each ``{name}`` is an event field or a parameter
  (the event's value first; ``{id}`` is a parameter named ``id``, else the event id); UUIDs and
  GUID strings are written lowercase like C#. Unknown names, format specs and a category with
  ``-`` are errors when decorating;
* a callable ``(event) -> str``.

**Errors.** The return value and exceptions of the function are never changed. With
``on_error=ErrorEvent`` a call that raises an ``Exception`` also emits ``ErrorEvent`` (to the same
stream spec), filled from the arguments by name and from these fields when the class declares
them: ``error_type`` (the exception class's ``__qualname__``), ``error_message`` (``str(exc)``),
``error_traceback`` (the formatted traceback). ``BaseException``\\ s such as ``KeyboardInterrupt``
or ``asyncio.CancelledError`` emit nothing.

**Failures.** Emitting never raises into the caller, except ``QueueFull`` from the writer's
``block`` policy on the success path (as documented by :class:`~plumberd_logging.EventWriter`).
An event that cannot be built (missing or unknown fields, a stream that cannot be named, no writer
configured, a closed writer) is not emitted: a rate-limited line goes to stderr and it is counted
in ``emitter_of(fn).failures`` and :func:`emit_failures`. Events the writer cannot encode or
append are dead-lettered by the writer (its ``stats()``, ``on_failed``) and counted there too,
under the writer's reason. Queueing never waits
while the writer's queue has room; when it is full, the writer's overflow policy applies on the
calling thread (for ``async def`` functions: on the event loop), so a writer serving coroutines
is best configured with ``overflow="drop_newest"`` (counted) or a ``block_timeout`` you accept.

**Writer.** ``writer=None`` uses :func:`~plumberd_logging.configure`'s default writer, looked up
at each call, so decorating at import time works before ``configure()`` runs.

**Correlation and causation.** At the start of each call the id of the event the call will emit
is reserved (inside the call it is ``current_context().causation_id``). The function runs in a
correlation scope whose causation is that id and whose correlation is the enclosing scope's (the
reserved id itself for a root call). The emitted event carries the *enclosing* scope's ids, or is
a root (correlation = causation = its own id) outside any scope. The event always gets the
reserved id: an instance the function returns has its ``id`` replaced, an ``id`` in a returned
mapping is ignored. So, for ``start`` calling ``prepare`` calling ``bus.send(cmd)``::

    @emits(RecordingStarted)                 # A, reserved when start() is called
    def start(camera_id): prepare(camera_id)

    @emits(CameraPrepared)                   # B, reserved when prepare() is called
    def prepare(camera_id): bus.send(camera_id, StartCamera(...))    # command C

    event / command        $correlationId   $causationId
    C StartCamera          A                B        (sent while prepare runs)
    B CameraPrepared       A                A        (emitted when prepare returns)
    A RecordingStarted     A                A        (root; emitted last)

Inside ``with caused_by(recorded_command):`` the same chain continues the command's: A carries
the command's correlation id and the command's id as causation, B and C the same correlation.
The scope follows ``asyncio`` tasks created inside the call and threads run through
``contextvars.copy_context().run``; the logging handler and the structlog processor read the
same context, so log events written inside the call are caused by the call's event too.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import string
import threading
import traceback
import types
import typing
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final, TypeVar, Union, overload
from uuid import UUID

from typing_extensions import ParamSpec, is_typeddict

from plumberd_logging import config
from plumberd_logging._diagnostics import report
from plumberd_logging._ids import new_event_id
from plumberd_logging.context import _current, derive
from plumberd_logging.errors import PlumberdError, QueueFull
from plumberd_logging.streams import _GUID_RE, check_category, stream_for, stream_text
from plumberd_logging.writer import EventWriter

__all__ = ["ERROR_FIELDS", "Emitter", "emit_failures", "emits", "emitter_of"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: The fields of an ``on_error`` event filled from the exception (when the class declares them).
ERROR_FIELDS: Final = ("error_type", "error_message", "error_traceback")

FieldsFn = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]
StreamSpec = Union[str, Callable[[Any], str], None]  # noqa: UP007  # evaluated at runtime


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Final[Any] = _Missing()
_failures_lock = threading.Lock()
_failures: collections.Counter[str] = collections.Counter()


def emit_failures() -> dict[str, int]:
    """Events that ``@emits`` could not emit, by reason, across all decorated functions.

    Reasons: ``"build"`` (fields missing or unknown, ``fields=`` raised, the event class raised),
    ``"stream"`` (no stream could be named), ``"no_writer"`` (nothing configured), ``"submit"``
    (the writer refused: closed, or ``QueueFull`` while reporting an exception); and what the
    writer dropped or dead-lettered later, under the reason its ``stats()`` uses
    (``"invalid"``, ``"too_large"``, ``"queue_full"``, ``"closed"``...).
    """
    with _failures_lock:
        return dict(_failures)


# -- decoration-time analysis ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Params:
    """The decorated function's parameters, for binding arguments without ``Signature.bind``."""

    named: tuple[tuple[str, int | None, Any], ...]  # (name, position or None, default)
    positional: int  # how many parameters can be given by position
    var_positional: str | None
    var_keyword: str | None

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> _Params:
        named: list[tuple[str, int | None, Any]] = []
        var_pos = var_kw = None
        position = 0
        for p in inspect.signature(fn).parameters.values():
            default = _MISSING if p.default is p.empty else p.default
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                named.append((p.name, position, default))
                position += 1
            elif p.kind is p.KEYWORD_ONLY:
                named.append((p.name, None, default))
            elif p.kind is p.VAR_POSITIONAL:
                var_pos = p.name
            else:
                var_kw = p.name
        return cls(tuple(named), position, var_pos, var_kw)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _, _ in self.named)

    def lookup(self, name: str) -> tuple[str, int | None, Any] | None:
        """How to read argument ``name`` of a call; None when no parameter can carry it."""
        for entry in self.named:
            if entry[0] == name:
                return entry
        if self.var_keyword is not None:
            return (name, None, _MISSING)
        return None

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments of a call by parameter name, defaults applied (for ``fields=``)."""
        n = len(args)
        bound: dict[str, Any] = {}
        for name, index, default in self.named:
            value = args[index] if index is not None and index < n else kwargs.get(name, default)
            if value is not _MISSING:
                bound[name] = value
        if self.var_positional is not None:
            bound[self.var_positional] = args[self.positional :]
        if self.var_keyword is not None:
            names = self.names
            bound[self.var_keyword] = {k: v for k, v in kwargs.items() if k not in names}
        return bound


@dataclasses.dataclass(frozen=True)
class _EventShape:
    """What the constructor of an event class takes."""

    cls: type
    accepted: frozenset[str] | None  # keyword names; None when it takes **kwargs
    required: tuple[str, ...]  # without defaults, "id" excluded
    takes_id: bool

    @classmethod
    def of(cls, event_cls: object, what: str) -> _EventShape:
        if not isinstance(event_cls, type):
            raise TypeError(f"{what}: expected an event class, got {event_cls!r}")
        try:
            params = inspect.signature(event_cls).parameters.values()
        except (TypeError, ValueError):
            raise TypeError(
                f"{what}: cannot read the constructor signature of {event_cls.__name__}"
            ) from None
        accepted: set[str] = set()
        required: list[str] = []
        var_kw = False
        for p in params:
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                accepted.add(p.name)
                if p.default is p.empty and p.name != "id":
                    required.append(p.name)
            elif p.kind is p.POSITIONAL_ONLY and p.default is p.empty:
                raise TypeError(
                    f"{what}: {event_cls.__name__} has positional-only parameter {p.name!r}; "
                    "events are built from keyword arguments"
                )
        return cls(
            event_cls,
            None if var_kw else frozenset(accepted),
            tuple(required),
            var_kw or "id" in accepted,
        )

    def has_field(self, name: str) -> bool:
        return self.accepted is None or name in self.accepted


class _Kind:
    RULE, CONST, TEMPLATE, CALL = range(4)


@dataclasses.dataclass(frozen=True)
class _StreamPlan:
    kind: int
    const: str = ""
    call: Callable[[Any], str] | None = None
    # template: (literal, name, read from event?, argument lookup or None)
    parts: tuple[tuple[str, str | None, bool, tuple[str, int | None, Any] | None], ...] = ()
    rule_cls: type | None = None  # a compiled class rule applies to exactly this class


def _stream_plan(spec: object, shape: _EventShape, params: _Params, what: str) -> _StreamPlan:
    if spec is None:
        if getattr(shape.cls, "__category__", None) is None:
            raise TypeError(
                f"{what}: no stream=... given and {shape.cls.__name__} has no stream rule; pass "
                "stream='Category-{field}' or declare the class with category=... "
                "(and stream_id_field=...)"
            )
        category = shape.cls.__category__  # type: ignore[attr-defined]
        id_field = getattr(shape.cls, "__stream_id_field__", None)
        if id_field is None:
            return _StreamPlan(_Kind.RULE, const=category, rule_cls=shape.cls)
        # The rule compiled like a template "{Category}-{id_field}" (same rendering as
        # stream_for, without building a StreamName per call).
        part = (f"{category}-", id_field, True, None)
        return _StreamPlan(_Kind.RULE, parts=(part,), rule_cls=shape.cls)
    if isinstance(spec, str):
        try:
            parsed = list(string.Formatter().parse(spec))
        except ValueError as exc:
            raise ValueError(f"{what}: stream template {spec!r}: {exc}") from None
        if all(name is None for _, name, _, _ in parsed):
            text = "".join(literal for literal, _, _, _ in parsed)  # "{{" unescaped
            return _StreamPlan(_Kind.CONST, const=stream_text(text, what=f"{what}: stream"))
        return _template_plan(spec, parsed, shape, params, what)
    if callable(spec):
        return _StreamPlan(_Kind.CALL, call=spec)
    raise TypeError(
        f"{what}: stream=... expected a str, a StreamName, a template like 'Recording-{{id}}', "
        f"a callable (event) -> str, or None, got {type(spec).__name__}"
    )


def _template_plan(
    spec: str,
    parsed: list[tuple[str, str | None, str | None, str | None]],
    shape: _EventShape,
    params: _Params,
    what: str,
) -> _StreamPlan:
    parts: list[tuple[str, str | None, bool, tuple[str, int | None, Any] | None]] = []
    unknown = []
    for literal, name, format_spec, conversion in parsed:
        if name is None:
            parts.append((literal, None, False, None))
            continue
        if not name.isidentifier():
            raise ValueError(
                f"{what}: stream template {spec!r}: {{{name}}} must be a plain field or "
                "parameter name"
            )
        if format_spec or conversion:
            raise ValueError(
                f"{what}: stream template {spec!r}: {{{name}}} has a format spec or conversion; "
                "only plain names are supported"
            )
        arg = params.lookup(name)
        if name == "id":  # a parameter named id, else the event's (reserved) id
            from_event = arg is None
        else:
            from_event = shape.accepted is None or name in shape.accepted
        if not from_event and arg is None:
            unknown.append(name)
        parts.append((literal, name, from_event, arg))
    if unknown:
        known = sorted((shape.accepted or frozenset()) | params.names)
        raise TypeError(
            f"{what}: stream template {spec!r} names {', '.join(unknown)}, which is neither a "
            f"field of {shape.cls.__name__} nor a parameter (known: {', '.join(known)})"
        )
    first = parsed[0][0]
    if "-" in first:  # a literal category: check it now
        check_category(first.split("-", 1)[0], what=f"{what}: stream template {spec!r} category")
    return _StreamPlan(_Kind.TEMPLATE, parts=tuple(parts))


def _return_supplies(fn: Callable[..., Any], shape: _EventShape) -> frozenset[str] | None:
    """Field names the annotated return value can supply; None when it may supply anything."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: assume anything
        return None
    if "return" not in hints:
        return None
    return _supplies(hints["return"], shape.cls)


def _supplies(hint: Any, event_cls: type) -> frozenset[str] | None:
    if hint is None or hint is type(None):
        return frozenset()
    origin = typing.get_origin(hint)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        result: frozenset[str] = frozenset()
        for arm in typing.get_args(hint):
            part = _supplies(arm, event_cls)
            if part is None:
                return None
            result |= part
        return result
    if origin is typing.Annotated:
        return _supplies(typing.get_args(hint)[0], event_cls)
    if origin is typing.Literal:
        return frozenset()
    if is_typeddict(hint):
        return frozenset(typing.get_type_hints(hint))
    if origin is not None:
        hint = origin
    if isinstance(hint, type):
        if issubclass(hint, Mapping) or issubclass(hint, event_cls) or issubclass(event_cls, hint):
            return None
        return frozenset()
    return None  # Any, TypeVars, strings...


def _arg_plan(shape: _EventShape, params: _Params) -> tuple[tuple[str, int | None, Any], ...]:
    """The parameters that fill event fields of the same name (``id`` excluded)."""
    plan = []
    for name, index, default in params.named:
        if name != "id" and shape.has_field(name):
            plan.append((name, index, default))
    if params.var_keyword is not None and shape.accepted is not None:
        taken = params.names
        plan.extend((n, None, _MISSING) for n in sorted(shape.accepted - taken) if n != "id")
    return tuple(plan)


# -- the emitter -------------------------------------------------------------------------------


class Emitter:
    """What one ``@emits`` decoration compiled; ``emitter_of(fn)`` returns it.

    ``failures`` counts the events this function could not emit, by reason (see
    :func:`emit_failures`).
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        event_type: type,
        stream: StreamSpec,
        on_error: type | None,
        writer: EventWriter | None,
        fields: FieldsFn | None,
    ) -> None:
        self.function = f"{getattr(fn, '__qualname__', fn)}()"
        what = f"@emits({getattr(event_type, '__name__', event_type)}) on {self.function}"
        self._what = what
        self.event_type = event_type
        self.on_error = on_error
        self.writer = writer
        self.failures: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        params = _Params.of(fn)
        self._params = params
        self._shape = _EventShape.of(event_type, f"{what}: event_type")
        self._fields = fields
        self._args = _arg_plan(self._shape, params)
        self._stream = _stream_plan(stream, self._shape, params, what)
        if fields is None and params.var_keyword is None:
            returned = _return_supplies(fn, self._shape)
            if returned is not None:
                self._check_required(
                    self._shape,
                    {n for n, _, _ in self._args} | returned,
                    "they are not parameters of the function and its return annotation cannot "
                    "provide them; add parameters, return them in a dict, or pass fields=...",
                )
        self._err_shape: _EventShape | None = None
        if on_error is not None:
            shape = _EventShape.of(on_error, f"{what}: on_error")
            if shape.accepted is not None and not shape.accepted & set(ERROR_FIELDS):
                raise TypeError(
                    f"{what}: on_error={shape.cls.__name__} declares none of "
                    f"{', '.join(ERROR_FIELDS)}; the error event would not say what failed"
                )
            self._err_shape = shape
            self._err_args = _arg_plan(shape, params)
            self._err_stream = _stream_plan(stream, shape, params, f"{what}: on_error")
            if params.var_keyword is None:
                self._check_required(
                    shape,
                    {n for n, _, _ in self._err_args} | set(ERROR_FIELDS),
                    "they are neither parameters of the function nor error fields "
                    f"({', '.join(ERROR_FIELDS)}); give them defaults or add parameters",
                )

    def __repr__(self) -> str:
        return f"<Emitter {self._what}>"

    def _check_required(
        self, shape: _EventShape, supplied: set[str] | frozenset[str], why: str
    ) -> None:
        missing = [name for name in shape.required if name not in supplied]
        if missing:
            raise TypeError(
                f"{self._what}: nothing supplies the required field(s) "
                f"{', '.join(missing)} of {shape.cls.__name__}: {why}"
            )

    # -- per call ------------------------------------------------------------------------------

    def emit(
        self, event_id: UUID, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
    ) -> None:
        """Build and submit the event of a call that returned ``result``."""
        shape = self._shape
        try:
            if isinstance(result, shape.cls):
                event = result
                if getattr(event, "id", None) != event_id:
                    self._assign_id(event, event_id)
            else:
                values = self._values(self._args, args, kwargs)
                foreign = False  # keys that did not come from matching parameters
                if result is not None and isinstance(result, Mapping):
                    values.update(result)
                    foreign = True
                if self._fields is not None:
                    extra = self._fields(self._params.bind(args, kwargs), result)
                    if not isinstance(extra, Mapping):
                        raise TypeError(
                            f"fields=... returned {type(extra).__name__}, expected a mapping"
                        )
                    values.update(extra)
                    foreign = True
                event = self._build(shape, values, event_id, foreign)
                if event is None:
                    return
        except Exception as exc:
            self._fail("build", f"cannot build the event: {type(exc).__name__}: {exc}")
            return
        self._submit(self._stream, event, args, kwargs, raise_queue_full=True)

    def emit_error(
        self, event_id: UUID, args: tuple[Any, ...], kwargs: dict[str, Any], exc: Exception
    ) -> None:
        """Build and submit the ``on_error`` event of a call that raised ``exc``; never raises."""
        shape = self._err_shape
        assert shape is not None
        try:
            values = self._values(self._err_args, args, kwargs)
            if shape.has_field("error_type"):
                values["error_type"] = type(exc).__qualname__
            if shape.has_field("error_message"):
                values["error_message"] = _message(exc)
            if shape.has_field("error_traceback"):
                values["error_traceback"] = "".join(
                    traceback.format_exception(type(exc), exc, exc.__traceback__)
                )
            event = self._build(shape, values, event_id, False)
            if event is None:
                return
        except Exception as build_exc:
            self._fail(
                "build",
                f"cannot build the on_error event: {type(build_exc).__name__}: {build_exc}",
            )
            return
        self._submit(self._err_stream, event, args, kwargs, raise_queue_full=False)

    @staticmethod
    def _values(
        plan: tuple[tuple[str, int | None, Any], ...],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        n = len(args)
        values: dict[str, Any] = {}
        for name, index, default in plan:
            if index is not None and index < n:
                values[name] = args[index]
            else:
                value = kwargs.get(name, default)
                if value is not _MISSING:
                    values[name] = value
        return values

    def _build(
        self, shape: _EventShape, values: dict[str, Any], event_id: UUID, foreign: bool
    ) -> object | None:
        """The event from ``values``, or None (reported) when they do not fit the class."""
        for name in shape.required:
            if name not in values:
                missing = [n for n in shape.required if n not in values]
                self._fail(
                    "build",
                    f"{shape.cls.__name__} not emitted: no value for required field(s) "
                    f"{', '.join(missing)} (not an argument, not in a returned mapping, "
                    "not from fields=)",
                )
                return None
        if foreign:
            values.pop("id", None)  # the event id is the one reserved for the call
            if shape.accepted is not None:
                unknown = [name for name in values if name not in shape.accepted]
                if unknown:
                    self._fail(
                        "build",
                        f"{shape.cls.__name__} not emitted: unknown field(s) "
                        f"{', '.join(unknown)} (from a returned mapping or fields=)",
                    )
                    return None
        if shape.takes_id:
            values["id"] = event_id
            built: object = shape.cls(**values)
            return built
        event: object = shape.cls(**values)
        self._assign_id(event, event_id)
        return event

    def _assign_id(self, event: object, event_id: UUID) -> None:
        try:
            event.id = event_id  # type: ignore[attr-defined]
        except Exception as exc:
            report(
                "emits:id",
                f"{self._what}: could not give {type(event).__name__} the reserved id "
                f"({type(exc).__name__}: {exc}); events caused inside the call name "
                f"{event_id} as causation, which this event does not carry",
            )

    def _submit(
        self,
        plan: _StreamPlan,
        event: object,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        raise_queue_full: bool,
    ) -> None:
        try:
            stream = self._stream_name(plan, event, args, kwargs)
        except Exception as exc:
            self._fail(
                "stream",
                f"{type(event).__name__} not emitted: no stream: {type(exc).__name__}: {exc}",
            )
            return
        writer = self.writer
        if writer is None:
            try:
                writer = config.default_writer()
            except PlumberdError as exc:
                self._fail("no_writer", f"{type(event).__name__} not emitted: {exc}")
                return
        try:
            # Validated already (the stream plan), so the entry points' path; the context is
            # the enclosing scope's (the call's own scope was reset before emitting).
            writer.submit_deferred(stream, event, context=_current.get(), sink=self)
        except QueueFull as exc:
            if raise_queue_full:
                raise
            self._fail("submit", f"{type(event).__name__} not emitted: {exc}")
        except Exception as exc:
            self._fail("submit", f"{type(event).__name__} not emitted: {type(exc).__name__}: {exc}")

    def _stream_name(
        self, plan: _StreamPlan, event: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        kind = plan.kind
        if kind == _Kind.CONST:
            return plan.const
        if kind == _Kind.RULE:
            if type(event) is not plan.rule_cls:  # e.g. a returned subclass with its own rule
                name = stream_for(event)
                if name is None:
                    raise ValueError(f"{type(event).__name__} has no stream rule")
                return name
            if not plan.parts:
                return plan.const  # a rule without id field: "{Category}"
        if kind == _Kind.CALL:
            assert plan.call is not None
            return stream_text(plan.call(event), what="the stream callable's result")
        pieces = []
        n = len(args)
        for literal, name, from_event, arg in plan.parts:
            pieces.append(literal)
            if name is None:
                continue
            value = getattr(event, name, _MISSING) if from_event else _MISSING
            if value is _MISSING and arg is not None:
                _, index, default = arg
                value = (
                    args[index] if index is not None and index < n else kwargs.get(name, default)
                )
            if value is _MISSING:
                raise ValueError(f"stream template: no value for {{{name}}}")
            pieces.append(_render(name, value))
        return stream_text("".join(pieces))

    def _fail(self, reason: str, message: str) -> None:
        self._count(reason)
        report(f"emits:{reason}:{id(self)}", f"{self._what}: {message}")

    def _count(self, reason: str) -> None:
        with self._lock:
            self.failures[reason] += 1
        with _failures_lock:
            _failures[reason] += 1

    def failed(self, reason: str, exc: BaseException) -> None:
        """``FailureSink``: the writer dropped or dead-lettered an event of this function (it
        reports that on stderr itself); counted under the writer's reason."""
        self._count(reason)


def _render(name: str, value: object) -> str:
    """A stream id as C# renders it (``Guid.ToString()`` is lowercase), like ``StreamName``."""
    if type(value) is str:
        if len(value) == 36 and _GUID_RE.match(value):
            return value.lower()
        if value:
            return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(
            f"stream template: {{{name}}} is a {type(value).__name__}; expected a str, UUID or int"
        )
    text = str(value)
    if not text:
        raise ValueError(f"stream template: {{{name}}} is empty")
    return text.lower() if _GUID_RE.match(text) else text


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return repr(exc)


# -- the decorator -----------------------------------------------------------------------------


class _Decorator:
    """The decorator ``emits(...)`` returns; it keeps the decorated function's signature."""

    __slots__ = ("_options",)

    def __init__(self, options: tuple[Any, ...]) -> None:
        self._options = options

    @overload
    def __call__(
        self, fn: Callable[_P, Coroutine[Any, Any, _R]], /
    ) -> Callable[_P, Coroutine[Any, Any, _R]]: ...
    @overload
    def __call__(self, fn: Callable[_P, _R], /) -> Callable[_P, _R]: ...
    def __call__(self, fn: Callable[..., Any], /) -> Callable[..., Any]:
        event_type, stream, on_error, writer, fields = self._options
        name = f"@emits({getattr(event_type, '__name__', event_type)})"
        if isinstance(fn, classmethod | staticmethod):
            raise TypeError(
                f"{name}: apply @emits below @{type(fn).__name__} (closest to the function)"
            )
        if not callable(fn):
            raise TypeError(f"{name}: expected a function, got {fn!r}")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(
                f"{name}: {getattr(fn, '__qualname__', fn)} is a generator; @emits needs a "
                "function that returns (its body runs after a generator call returns)"
            )
        emitter = Emitter(fn, event_type, stream, on_error, writer, fields)
        wrapper = (
            _async_wrapper(fn, emitter)
            if inspect.iscoroutinefunction(fn)
            else _sync_wrapper(fn, emitter)
        )
        wrapper.__emits__ = emitter  # type: ignore[attr-defined]
        return wrapper


def _sync_wrapper(fn: Callable[..., Any], emitter: Emitter) -> Callable[..., Any]:
    get, set_, reset, reserve, chain = (
        _current.get,
        _current.set,
        _current.reset,
        new_event_id,
        derive,
    )
    emit = emitter.emit
    emit_error = emitter.emit_error if emitter.on_error is not None else None

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        event_id = reserve()
        # The call's scope: caused by its reserved event id, in the enclosing chain.
        token = set_(chain(get(), None, event_id))
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            reset(token)
            if emit_error is not None:
                emit_error(event_id, args, kwargs, exc)
            raise
        except BaseException:
            reset(token)
            raise
        reset(token)
        emit(event_id, args, kwargs, result)
        return result

    return wrapper


def _async_wrapper(fn: Callable[..., Any], emitter: Emitter) -> Callable[..., Any]:
    get, set_, reset, reserve, chain = (
        _current.get,
        _current.set,
        _current.reset,
        new_event_id,
        derive,
    )
    emit = emitter.emit
    emit_error = emitter.emit_error if emitter.on_error is not None else None

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        event_id = reserve()
        # The call's scope: caused by its reserved event id, in the enclosing chain.
        token = set_(chain(get(), None, event_id))
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:
            reset(token)
            if emit_error is not None:
                emit_error(event_id, args, kwargs, exc)
            raise
        except BaseException:
            reset(token)
            raise
        reset(token)
        emit(event_id, args, kwargs, result)
        return result

    return wrapper


def emits(
    event_type: type,
    stream: StreamSpec = None,
    *,
    on_error: type | None = None,
    writer: EventWriter | None = None,
    fields: FieldsFn | None = None,
) -> _Decorator:
    """Decorate a function so that each successful call emits an ``event_type`` event.

    See the module documentation for where fields and streams come from, ``on_error``, the
    correlation rule and what happens when an event cannot be emitted.
    """
    if on_error is not None and not isinstance(on_error, type):
        raise TypeError(f"emits(on_error=...): expected an event class or None, got {on_error!r}")
    if writer is not None and not isinstance(writer, EventWriter):
        raise TypeError(f"emits(writer=...): expected an EventWriter or None, got {writer!r}")
    if fields is not None and not callable(fields):
        raise TypeError(
            f"emits(fields=...): expected a callable (bound_args, result) -> dict, got {fields!r}"
        )
    if not isinstance(event_type, type):
        raise TypeError(f"emits(event_type=...): expected an event class, got {event_type!r}")
    return _Decorator((event_type, stream, on_error, writer, fields))


def emitter_of(fn: Callable[..., Any]) -> Emitter:
    """The :class:`Emitter` behind a function decorated with ``@emits`` (its ``failures``...)."""
    emitter = getattr(fn, "__emits__", None)
    if not isinstance(emitter, Emitter):
        raise TypeError(f"emitter_of(fn): {fn!r} is not decorated with @emits")
    return emitter
