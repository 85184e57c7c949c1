"""The C accelerator gives byte for byte what its Python twins give, and the package works
without it (``PLUMBERD_PURE_PYTHON=1``).

The twins are the reference: ``tests/core/test_wire.py`` and the golden tests check the bytes
the package sends (through C where it is built) against kurrentdbclient and wire-format.md;
here every C function is checked against its twin on generated inputs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plumberd_logging import Event, _accel, _clock, _ids, _wire, field, metadata
from plumberd_logging import codec as codec_module
from plumberd_logging._capture import LogEventSpec, StructlogEventSpec, compact_record
from plumberd_logging.codec import Codec, EncodedEvent
from plumberd_logging.context import CorrelationContext
from plumberd_logging.errors import InvalidEvent
from plumberd_logging.streams import ANY, NO_STREAM

speedups = _accel.speedups
BUILT = importlib.util.find_spec("plumberd_logging._speedups") is not None  # even when not used
needs_c = pytest.mark.skipif(
    speedups is None,
    reason="the C accelerator is not built here (no compiler at install, or "
    "PLUMBERD_PURE_PYTHON=1): only the Python twins run",
)


def test_ci_builds_the_accelerator() -> None:
    """CI sets PLUMBERD_REQUIRE_SPEEDUPS=1: a broken C build fails it instead of skipping."""
    if os.environ.get("PLUMBERD_REQUIRE_SPEEDUPS") != "1":
        pytest.skip("PLUMBERD_REQUIRE_SPEEDUPS is not set (CI sets it)")
    assert BUILT, "plumberd_logging._speedups did not build or import"


uuids = st.builds(UUID, int=st.integers(0, 2**128 - 1))


@needs_c
@given(uuids)
def test_uuid_text_is_str(value: UUID) -> None:
    assert speedups is not None
    assert speedups.uuid_text(value) == str(value) == _ids._id_text(value)


@needs_c
def test_uuid_text_of_a_subclass_uses_its_own_str() -> None:
    class Shouting(UUID):
        def __str__(self) -> str:
            return super().__str__().upper()

    value = Shouting(int=12345)
    assert speedups is not None
    assert speedups.uuid_text(value) == str(value) == _ids._id_text(value)


@needs_c
@given(st.binary(min_size=0, max_size=16 * 20).map(lambda b: b[: len(b) - len(b) % 16]))
def test_new_uuids_equal_the_python_twins(raw: bytes) -> None:
    assert speedups is not None
    ours = speedups.new_uuids(raw)
    reference = _ids._new_uuids(raw)
    assert ours == reference
    for value in ours:
        assert type(value) is UUID
        assert value.version == 4 and value.variant == uuid.RFC_4122
        assert value.is_safe is uuid.SafeUUID.unknown
        assert UUID(str(value)) == value and hash(value) == hash(UUID(str(value)))


@needs_c
def test_new_uuids_refuses_a_partial_id() -> None:
    assert speedups is not None
    with pytest.raises(TypeError, match="multiple of 16"):
        speedups.new_uuids(b"x" * 17)


stamps = st.floats(min_value=-1e10, max_value=4e9, allow_nan=False) | st.integers(0, 4 * 10**9).map(
    lambda n: n + 0.5
)


@needs_c
@given(stamps, st.booleans())
@settings(max_examples=300)
def test_format_stamp_equals_the_python_twin(timestamp: float, utc: bool) -> None:
    assert speedups is not None
    reference = _clock._format_timestamp(timestamp, utc)  # also caches the second
    assert speedups.format_stamp(timestamp, _clock.CACHED_SECONDS[utc]) == reference
    assert _clock.format_timestamp(timestamp, utc=utc) == reference


@needs_c
def test_format_stamp_leaves_other_seconds_and_values_to_python() -> None:
    assert speedups is not None
    _clock._format_timestamp(1764752400.25, True)
    cached = _clock.CACHED_SECONDS[True]
    assert speedups.format_stamp(1764752400.75, cached) == "2025-12-03T09:00:00.75Z"
    assert speedups.format_stamp(1764752400.0, cached) == "2025-12-03T09:00:00Z"
    assert speedups.format_stamp(1764752400.1234565, cached) == _clock._format_timestamp(
        1764752400.1234565, True
    )
    for other in (1764752401.5, 1764752400, math.nan, math.inf, 1e300):
        assert speedups.format_stamp(other, cached) is None
    assert speedups.format_stamp(1.5, (None, "", "Z")) is None


contexts = st.none() | st.builds(
    CorrelationContext,
    correlation_id=uuids,
    causation_id=uuids,
    user_id=st.none() | st.text(max_size=20),
)


def _metadata_twin(*args: object) -> bytes:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(metadata, "_STANDARD_JSON", None)
        return metadata.standard_metadata_json(*args)  # type: ignore[arg-type]


@needs_c
@given(uuids, stamps | st.none(), contexts, st.sampled_from(["event_id", "omit"]), st.booleans())
@settings(max_examples=300)
def test_metadata_json_equals_the_python_twin(
    event_id: UUID, created: float | None, context: CorrelationContext | None, root: str, host: bool
) -> None:
    text = str(event_id)
    if created is not None:
        _clock.format_timestamp(created, utc=False)  # the second is cached: C writes it
    ours = metadata.standard_metadata_json(text, created, context, root, host)  # type: ignore[arg-type]
    if created is None:  # now: the twin would read another clock; compare the shape
        assert (
            json.loads(ours).keys()
            == json.loads(_metadata_twin(text, None, context, root, host)).keys()
        )
    else:
        assert ours == _metadata_twin(text, created, context, root, host)


@needs_c
def test_metadata_json_leaves_long_and_odd_values_to_python() -> None:
    assert speedups is not None
    _clock.format_timestamp(1764752400.25, utc=True)
    cached = _clock.CACHED_SECONDS[True]
    made = speedups.metadata_json("a", 1764752400.5, cached, ',"ClientHostName":"hôte"', None, None)
    created = '"Created":"2025-12-03T09:00:00.5Z"'
    ids = '"$correlationId":"a","$causationId":"a"'
    assert made == f'{{{created},"ClientHostName":"hôte",{ids}}}'.encode()
    long_host = ',"ClientHostName":"' + "h" * 2000 + '"'
    assert speedups.metadata_json("a", 1764752400.5, cached, long_host, None, None) is None
    assert speedups.metadata_json("a", 1764752401.5, cached, "", None, None) is None  # new second
    with pytest.raises(TypeError, match="must be str"):
        speedups.metadata_json("a", 1764752400.5, cached, "", UUID(int=1), "b")  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        speedups.metadata_json("\ud800", 1764752400.5, cached, "", None, None)


def _event(
    draw: st.DrawFn,
) -> EncodedEvent:
    ident = draw(uuids)
    kind = draw(
        st.sampled_from(["standard", "no host", "user", "custom", "empty", "odd host", "bad"])
    )
    stamp = draw(st.sampled_from(["2026-12-03T09:00:00.5+01:00", "2026-12-03T08:00:00Z", "X"]))
    host = draw(st.sampled_from(["vm-1", "", "h" * 200]) | st.text(max_size=300))
    ids = f'"$correlationId":"{ident}","$causationId":"{draw(uuids)}"'
    if kind == "standard":
        meta = f'{{"Created":"{stamp}","ClientHostName":{json.dumps(host)},{ids}}}'
    elif kind == "no host":
        meta = f'{{"Created":"{stamp}",{ids}}}'
    elif kind == "user":
        meta = f'{{"Created":"{stamp}",{ids},"UserId":{json.dumps(host)}}}'
    elif kind == "custom":
        meta = f'{{"Created":"{stamp}",{ids},"Source":"camera-3"}}'
    elif kind == "odd host":  # the characters the fast path must leave to the general one
        meta = f'{{"Created":"{stamp}","ClientHostName":"a\\"b\\\\c\x7fé",{ids}}}'
    elif kind == "bad":  # near misses of the standard shape
        meta = f'{{"Created":"{stamp}","$correlationId":"{ident}","$causationId":"{ident}x"}}'
    else:
        meta = ""
    long = b'{"A":"' + b"x" * draw(st.integers(0, 20_000)) + b'"}'  # 1-, 2- and 3-byte lengths
    data = draw(st.sampled_from([b"", b"{}", long]))
    name = draw(st.sampled_from(["LogRecorded", "Zählung<Ä>", "", "T" * 200]))
    return EncodedEvent(ident, name, data, meta.encode("utf-8", "surrogatepass"))


events_strategy = st.lists(st.composite(_event)(), max_size=6)


def _twin(build: Callable[[], bytes]) -> bytes:
    """What ``build`` gives with the Python twins of the wire functions."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_wire, "_PROPOSED", None)
        m.setattr(_wire, "_RECORDS", None)
        return build()


@needs_c
@given(events_strategy, st.sampled_from([ANY, NO_STREAM, 0, 300]), st.text(max_size=40))
@settings(max_examples=200)
def test_batch_append_request_equals_the_python_twin(
    events: list[EncodedEvent], expected: int, stream: str
) -> None:
    correlation = UUID(int=7)

    def build() -> bytes:
        return _wire.batch_append_request(
            stream, expected, events, correlation_id=correlation, timeout=5.0
        )

    assert build() == _twin(build)


@needs_c
@given(events_strategy, st.sampled_from([ANY, NO_STREAM, 0, 300]), st.text(max_size=40))
@settings(max_examples=200)
def test_multi_append_request_equals_the_python_twin(
    events: list[EncodedEvent], expected: int, stream: str
) -> None:
    def build() -> bytes:
        return _wire.multi_append_request(stream, expected, events)

    try:
        ours = build()
    except ValueError as exc:  # metadata that a multi-stream append cannot carry
        with pytest.raises(ValueError, match=r".") as python:
            _twin(build)
        assert str(python.value) == str(exc)
        return
    assert ours == _twin(build)


@needs_c
def test_the_wire_functions_name_what_is_wrong() -> None:
    assert speedups is not None
    good = EncodedEvent(UUID(int=1), "T", b"{}", b"")
    with pytest.raises(TypeError, match=r"events\[1\]: expected an EncodedEvent"):
        speedups.proposed_messages([good, "x"], {}, _wire._type_map, b"", b"")  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"events\[0\]: data and metadata must be bytes"):
        speedups.proposed_messages(
            [EncodedEvent(UUID(int=1), "T", "{}", b"")],  # type: ignore[arg-type]
            {},
            _wire._type_map,
            b"",
            b"",
        )
    with pytest.raises(TypeError, match=r"events\[0\]\.id: expected a uuid\.UUID"):
        speedups.append_records(
            [EncodedEvent("id", "T", b"{}", b"")],  # type: ignore[arg-type]
            {},
            _wire._schema,
            _wire._properties,
            b"",
            b"",
        )


_PURE_SCRIPT = """
import json, sys
from uuid import UUID
from plumberd_logging import _accel, _wire
from plumberd_logging.codec import Codec, EncodedEvent
from plumberd_logging.streams import ANY
from plumberd_logging._ids import new_event_id, id_text
if sys.argv[1] == "pure":
    assert _accel.speedups is None, "PLUMBERD_PURE_PYTHON=1 must not load the C accelerator"
codec = Codec(client_host_name=False)
enc = codec.encode({"Message": "hi"}, event_type="LogRecorded", event_id=UUID(int=5),
                   created=1764752400.25, context=None)
fresh = new_event_id()
assert fresh.version == 4 and id_text(fresh) == str(fresh)
events = [enc, EncodedEvent(UUID(int=9), "Other", b'{"A":1}', b"")]
print(json.dumps({
    "data": enc.data.hex(), "metadata": enc.metadata.hex(),
    "v1": _wire.batch_append_request("S", ANY, events, correlation_id=UUID(int=3),
                                     timeout=1.0).hex(),
    "v2": _wire.multi_append_request("S", ANY, [enc]).hex(),
}))
"""


@pytest.mark.slow
def test_pure_python_mode_sends_the_same_bytes() -> None:
    """With the accelerator switched off (or not built), the package sends the same bytes."""

    def run(mode: str) -> object:
        env = {**os.environ, "PLUMBERD_PURE_PYTHON": "1" if mode == "pure" else "0"}
        done = subprocess.run(
            [sys.executable, "-c", _PURE_SCRIPT, mode],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert run("pure") == run("default")


class _Odd:
    def __str__(self) -> str:
        return "odd <\x01> object"


_texts = st.text(max_size=30)
_message_parts = st.one_of(
    st.tuples(_texts, st.just(())),
    st.tuples(st.just("order %s placed by %s"), st.just((1, "alice"))),
    st.tuples(st.just("%(user)s did it"), st.just({"user": "bob"})),
    st.tuples(st.just(_Odd()), st.just(())),
    st.tuples(_texts, st.just(("x",))),  # mostly a formatting failure: worded by Python
)
_payloads = st.builds(
    lambda name, level, parts, created, thread, process, module, fn, line: (
        name,
        level,
        parts[0],
        parts[1],
        created,
        None,
        None,
        thread,
        process,
        module,
        fn,
        line,
    ),
    _texts,  # logger name
    st.sampled_from(["INFO", "WARNING", "Level 5"]) | _texts,
    _message_parts,
    stamps,
    st.none() | _texts,  # thread name
    st.none() | st.integers(-(2**63), 2**63 - 1),  # process
    _texts,  # module
    st.none() | _texts,  # function
    st.integers(0, 2**31),  # line
)
_odd_payloads = _payloads.map(
    lambda p: (*p[:8], 2**64 - 1, *p[9:11], True)  # a process id orjson writes, a bool line
)


@needs_c
@given(_payloads | _odd_payloads, st.builds(UUID, int=st.integers(1, 2**128 - 1)))
@settings(max_examples=400)
def test_log_json_equals_the_built_and_encoded_body(
    payload: tuple[Any, ...], event_id: UUID
) -> None:
    spec = LogEventSpec("svc-ü", None, "LogRecorded", "drop_newest", "test")
    body, event_type = spec.build(payload)  # also caches the second
    try:
        reference = (
            Codec()
            .encode(body, None, event_type=event_type, event_id=event_id, created=1.5, context=None)
            .data
        )
    except InvalidEvent:  # what orjson cannot write (a lone surrogate, a 70-bit int)
        reference = None
    built = spec.build_json(payload, str(event_id))
    if built is not None:
        assert built == (reference, "LogRecorded")


@needs_c
def test_log_json_writes_a_plain_line_and_leaves_exceptions_to_python() -> None:
    spec = LogEventSpec("svc", None, "LogRecorded", "drop_newest", "test")
    record = logging.LogRecord("app", logging.INFO, "x.py", 7, "hi %s", ("bob",), None)
    payload = compact_record(record)
    spec.build(payload)  # caches the second
    built = spec.build_json(payload, "id-1")
    assert built is not None
    assert json.loads(built[0])["Message"] == "hi bob"
    try:
        raise ValueError("boom")
    except ValueError:
        failing = logging.LogRecord("app", logging.ERROR, "x.py", 7, "bad", (), sys.exc_info())
    assert spec.build_json(compact_record(failing), "id-2") is None


_simple = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _texts
_values = (
    _simple
    | st.lists(_simple, max_size=3)
    | st.tuples(_simple, _simple)
    | st.floats(allow_nan=False)  # left to Python
    | st.dictionaries(_texts, _simple, max_size=2)  # left to Python
    | st.just(2**70)  # left to Python
)
_event_dicts = st.builds(
    lambda extra, fixed: {**extra, **fixed},
    st.dictionaries(_texts, _values, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "event": _texts | st.just(42),
            "level": st.sampled_from(["info", "warning", "", None]),
            "logger": st.sampled_from(["app.db", "", None, 0]),
            "timestamp": st.just("2026-12-03T09:00:00Z"),
            "user_id": st.just("alice"),
            "exc_info": st.just(False),
        },
    ),
)


@needs_c
@given(
    _event_dicts,
    st.sampled_from(["info", "warning", "msg"]),
    stamps,
    _texts,
    st.builds(UUID, int=st.integers(1, 2**128 - 1)),
)
@settings(max_examples=400)
def test_structlog_json_equals_the_built_and_encoded_body(
    d: dict[str, Any], method: str, created: float, thread: str, event_id: UUID
) -> None:
    spec = StructlogEventSpec("svc-ü", None, "LogRecorded", "drop_newest", "test")
    _clock.format_timestamp(created, utc=True)  # the second is cached
    payload = (dict(d), method, created, thread)
    built = spec.build_json(payload, str(event_id))
    assert payload[0] == d, "build_json must not change the payload (build() may run next)"
    body, event_type = spec.build((dict(d), method, created, thread))
    try:
        reference = (
            Codec()
            .encode(body, None, event_type=event_type, event_id=event_id, created=1.5, context=None)
            .data
        )
    except InvalidEvent:
        reference = None
    if built is not None:
        assert built == (reference, "LogRecorded")


@needs_c
def test_structlog_json_writes_a_plain_line() -> None:
    spec = StructlogEventSpec("svc", None, "LogRecorded", "drop_newest", "test")
    _clock.format_timestamp(1764752400.5, utc=True)
    d = {"event": "order placed", "level": "info", "positional_args": (1, "alice"), "n": 3}
    built = spec.build_json((d, "info", 1764752400.5, "MainThread"), "id-1")
    assert built is not None
    body = json.loads(built[0])
    assert (body["Level"], body["Message"]) == ("INFO", "order placed")
    assert body["Properties"] == {"positional_args": [1, "alice"], "n": 3}


@pytest.mark.slow
def test_version_says_which_build_runs() -> None:
    """`plumberd --version` names the build, so a bug report says whether C ran."""

    def version(pure: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "plumberd_logging", "--version"],
            env={**os.environ, "PLUMBERD_PURE_PYTHON": pure},
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout.strip()

    assert version("1").endswith("(pure Python)")
    assert version("0").endswith("(C accelerator)" if BUILT else "(pure Python)")


class _OwnUuid(UUID):
    """An application's UUID subclass (an event's own id may be one)."""


@needs_c
def test_an_id_of_a_uuid_subclass_is_written_as_python_writes_it() -> None:
    events = [EncodedEvent(_OwnUuid(int=99), "T", b"{}", b"")]

    def v1() -> bytes:
        return _wire.batch_append_request("S", ANY, events, correlation_id=UUID(int=1), timeout=1)

    def v2() -> bytes:
        return _wire.multi_append_request("S", ANY, events)

    assert v1() == _twin(v1)
    assert v2() == _twin(v2)


# -- float_json: a float field's text ------------------------------------------------------------


def _float_twin(value: float) -> str | None:
    """What object_json writes for a float: repr() (orjson's text too) within 1e-4 <= |v| <
    1e16 or zero; None (the Python path's) outside."""
    if value == 0.0 or 1e-4 <= abs(value) < 1e16:
        assert orjson.dumps(value).decode() == repr(value)
        return repr(value)
    return None


# Few decimals (prices, durations) take a path of their own; their neighbours one ulp away
# must not, and reach dtoa: both must read exactly as repr().
_short_floats = st.builds(
    lambda m, k, step: math.nextafter(m / 10**k, math.inf) if step else m / 10**k,
    st.integers(-(2**53), 2**53),
    st.integers(0, 12),
    st.booleans(),
)


@needs_c
@given(_short_floats | st.floats(allow_nan=True, allow_infinity=True) | st.floats(1e-4, 2.0**51))
@settings(max_examples=2000)
def test_float_json_is_repr(value: float) -> None:
    assert speedups is not None
    assert speedups.float_json(value) == _float_twin(value)


@needs_c
def test_float_json_is_repr_for_a_sweep_of_short_decimals_and_their_neighbours() -> None:
    assert speedups is not None
    rng = random.Random(12)
    edges = [1e-4, 0.1, 0.3, 0.30000000000000004, 2.0**50, 2.0**50 - 0.25, 1e15, 9.999999e15]
    values = edges + [
        rng.randrange(-(10**9), 10**9) / 10 ** rng.randrange(10) for _ in range(60_000)
    ]
    values += [math.nextafter(v, rng.choice([math.inf, -math.inf])) for v in values[:20_000]]
    values += [round(rng.uniform(0, 1e6), rng.randrange(8)) for _ in range(20_000)]
    wrong = [v for v in values if speedups.float_json(v) != _float_twin(v)]
    assert wrong == []
    with pytest.raises(TypeError, match="expected a float"):
        speedups.float_json(1)


# -- object_json: an event object's body ----------------------------------------------------------


class _Shipped(Event):
    """Every kind object_json writes, declared (checked) and undeclared (any value)."""

    order_id: str
    quantity: int
    price: float
    paid: bool
    parcel: UUID
    note: str | None = field(default=None, omit_if_none=True)
    count: int | None = None
    anything: Any = None
    label: str = field(default="", wire_name="\u00c9tiquette")  # a non-ASCII C# name


_any_values = (
    _texts
    | st.just("lone \ud800 surrogate")
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(1e-6, 1e-3)
    | st.floats(1e15, 1e17)
    | st.booleans()
    | st.none()
    | uuids
    | st.decimals(allow_nan=False, places=2, max_value=10**6, min_value=-(10**6))
    | st.lists(st.integers(0, 9), max_size=2)
)


def _compiled_plan() -> Any:
    codec = Codec()
    codec.encode(_Shipped(order_id="o", quantity=1, price=1.0, paid=True, parcel=uuid.uuid4()))
    return codec._values._native[_Shipped]


def _encoded_both_ways(
    make: Callable[[], object],
    created: float = 1.5,
    context: CorrelationContext | None = None,
    custom: metadata.Metadata | None = None,
    event_type: str | None = None,
    **options: Any,
) -> tuple[object, object]:
    """What Codec.encode gives with object_event and with its twins (the compiled encoder, then
    orjson; standard_metadata_json): an EncodedEvent, or the InvalidEvent's text."""
    results: list[object] = []
    for accelerated in (True, False):
        codec = Codec(**options)
        codec.encode(_Shipped(order_id="o", quantity=1, price=1.0, paid=True, parcel=uuid.uuid4()))
        with pytest.MonkeyPatch.context() as m:
            if not accelerated:
                for name in ("_OBJECT_EVENT", "_STANDARD_JSON"):
                    m.setattr(codec_module, name, None)
                m.setattr(metadata, "_STANDARD_JSON", None)
            try:
                made = codec.encode(
                    make(), custom, created=created, context=context, event_type=event_type
                )
                results.append(made)
            except InvalidEvent as exc:
                results.append(str(exc))
    return results[0], results[1]


_fast_ints = st.integers(-(2**63), 2**64 - 1) | st.sampled_from([0, 2**63 - 1, 2**63, 2**64 - 1])
_fast_floats = (
    st.floats(-1e6, 1e6).filter(lambda v: v == 0.0 or abs(v) >= 1e-4)
    | st.floats(1e-4, 1e16, exclude_max=True)
    | st.sampled_from([0.0, -0.0, 1e-4, -1e-4, 1e15, 9999999999999998.0, 0.1])
)
_fast_values = _texts | _fast_ints | _fast_floats | st.booleans() | st.none() | uuids
# Each field a value of its declared kind (what object_json writes); then maybe one field
# given any value (what it must leave to the Python path, or write as that path would).
_declared = st.fixed_dictionaries(
    {
        "order_id": _texts,
        "quantity": _fast_ints,
        "price": _fast_floats,
        "paid": st.booleans(),
        "parcel": uuids,
        "note": st.none() | _texts,
        "count": st.none() | _fast_ints,
        "anything": _fast_values,
        "label": _texts,
    }
)
_FIELDS = ["order_id", "quantity", "price", "paid", "parcel", "note", "count", "anything", "label"]
_names = st.sampled_from(_FIELDS)


@needs_c
@given(_declared, st.none() | st.tuples(_names, _any_values | _fast_values), uuids)
@settings(max_examples=800)
def test_object_json_equals_the_compiled_encoder_and_orjson(
    values: dict[str, Any], odd: tuple[str, Any] | None, event_id: UUID
) -> None:
    if odd is not None:
        values = {**values, odd[0]: odd[1]}

    def make() -> object:
        event = object.__new__(_Shipped)  # any value in any field, as a careless caller's
        event.__dict__.update({"id": event_id, **{name: values[name] for name in _FIELDS}})
        return event

    accelerated, reference = _encoded_both_ways(make)
    assert accelerated == reference
    if odd is None and event_id.int:  # values of their declared kinds: written in C
        assert speedups is not None
        keys, fields = _compiled_plan()
        assert speedups.object_json(make(), keys, fields, str(event_id)) is not None


@needs_c
def test_object_json_writes_the_common_event_and_leaves_other_layouts_to_python() -> None:
    assert speedups is not None
    event = _Shipped(
        order_id="o-1\n", quantity=2**64 - 1, price=12.5, paid=False, parcel=UUID(int=7)
    )
    codec = Codec()
    expected = codec.encode(event, created=1.5, context=None)
    keys, fields = codec._values._native[_Shipped]
    data = speedups.object_json(event, keys, fields, str(event.id))
    assert data == expected.data
    assert data is not None and json.loads(data)["OrderId"] == "o-1\n"
    event.extra = 1  # type: ignore[attr-defined]  # another layout: the compiled function's as well
    assert speedups.object_json(event, keys, fields, str(event.id)) is None
    del event.extra  # type: ignore[attr-defined]
    event.price = 1e-5  # below 1e-4: written by the Python path
    assert speedups.object_json(event, keys, fields, str(event.id)) is None
    assert b'"Price":1e-05' in codec.encode(event, created=1.5, context=None).data
    with pytest.raises(TypeError, match="tuples of equal length"):
        speedups.object_json(event, keys, fields[:-1], str(event.id))


@needs_c
@given(
    contexts,
    st.sampled_from(["event_id", "omit"]),
    st.booleans(),
    st.sampled_from([None, metadata.Metadata(), metadata.Metadata(Source="camera-7")]),
    st.sampled_from([0.0, 0.25, 1.0]),
)
@settings(max_examples=300)
def test_object_event_equals_the_python_path(
    context: CorrelationContext | None,
    root: str,
    host: bool,
    custom: metadata.Metadata | None,
    later: float,
) -> None:
    """Body and metadata in one C call (a root event's, or a context's ids) are the bytes
    Codec.encode writes in Python, for every codec option; what C leaves (a user id, custom
    keys, ``omit``, a second other than the cached one) Python writes."""
    created = time.time()
    _clock.format_timestamp(created, utc=False)  # the cached second, as the writer's is
    event = _Shipped(order_id="o-1", quantity=3, price=19.99, paid=True, parcel=UUID(int=9))
    accelerated, reference = _encoded_both_ways(
        lambda: event,
        created + later,
        context,
        custom,
        root_correlation=root,
        client_host_name=host,
    )
    assert accelerated == reference
    body = {"OrderId": "o-1", "Id": str(UUID(int=5))}  # a dict body: the metadata alone in C
    accelerated, reference = _encoded_both_ways(
        lambda: body,
        created + later,
        context,
        custom,
        event_type="Shipped",
        root_correlation=root,
        client_host_name=host,
    )
    assert accelerated == reference


@needs_c
def test_object_event_writes_the_writers_common_events_in_one_call() -> None:
    assert speedups is not None
    created = time.time()
    _clock.format_timestamp(created, utc=False)
    event = _Shipped(order_id="o-1", quantity=3, price=19.99, paid=True, parcel=UUID(int=9))
    codec = Codec()
    keys, fields = _compiled_plan()
    cached = _clock.CACHED_SECONDS[False]
    host = metadata.host_json()
    parent = CorrelationContext(uuid.uuid4(), uuid.uuid4())
    for context in (None, parent):
        made = speedups.object_event(
            event, keys, fields, str(event.id), event.id, "Shipped", created, cached, host,
            context, EncodedEvent,
        )  # fmt: skip
        assert type(made) is EncodedEvent
        with pytest.MonkeyPatch.context() as m:  # the Python path's bytes
            for name in ("_OBJECT_EVENT", "_STANDARD_JSON"):
                m.setattr(codec_module, name, None)
            m.setattr(metadata, "_STANDARD_JSON", None)
            assert made == codec.encode(
                event, created=created, context=context, event_type="Shipped"
            )
    body = speedups.object_event(
        event, keys, fields, str(event.id), event.id, "Shipped", created, cached, None, None,
        EncodedEvent,
    )  # fmt: skip
    assert body == codec.encode(event).data  # host None: the metadata is Python's
    with pytest.raises(TypeError, match="tuple subclass"):
        speedups.object_event(
            event, keys, fields, str(event.id), event.id, "Shipped", created, cached, host,
            None, dict,  # type: ignore[arg-type]
        )  # fmt: skip
