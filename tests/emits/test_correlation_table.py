"""The correlation rule, one table (docs/correlation.md) and every way of giving ids agrees.

Each row of the documented table is checked through four paths, read back from the server:
a log record's ``extra`` (EventStoreHandler), a structlog event dict (EventStoreProcessor),
a ``correlation()`` scope around a plain log line, and a command sent by ``CommandBus``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from plumberd_logging import (
    CommandBus,
    Event,
    EventStoreClient,
    EventStoreHandler,
    EventStoreProcessor,
    EventWriter,
    correlation,
)
from plumberd_logging.testing import InMemoryEventStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "correlation.md"
NOT_GIVEN = "-"
PATHS = ("extra", "structlog", "correlation()", "CommandBus")


def table() -> list[tuple[str, ...]]:
    """The rows of the table under the ``correlation-table`` marker."""
    text = DOC.read_text(encoding="utf-8")
    body = text.split("<!-- correlation-table", 1)[1]
    rows: list[tuple[str, ...]] = []
    for raw in body.splitlines()[1:]:
        line = raw.strip()
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = tuple(c.strip().strip("`") for c in line.strip("|").split("|"))
        if cells[0] in ("active scope",) or set(cells[0]) <= {"-", " "}:
            continue
        rows.append(cells)
    return rows


ROWS = table()


def test_the_table_is_the_whole_rule() -> None:
    assert len(ROWS) == 11
    assert {r[0] for r in ROWS} == {"none", "C, K, U"}


class StartCamera(Event):
    label: str


@pytest.fixture
def writer(eventstore: InMemoryEventStore) -> Iterator[EventWriter]:
    with EventWriter(eventstore.url, linger=0.005) as w:
        yield w


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[:4]) for r in ROWS])
def test_every_path_follows_the_table(
    row: tuple[str, ...], path: str, eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    scope, corr, cause, user, want_corr, want_cause, want_user = row
    names: dict[str, Any] = {
        "C": uuid4(), "K": uuid4(), "U": "ursula", "X": uuid4(), "Y": uuid4(), "V": "victor",
    }  # fmt: skip
    parts = {"correlation_id": corr, "causation_id": cause, "user_id": user}
    explicit = {k: names[v] for k, v in parts.items() if v != NOT_GIVEN}
    stream = f"Table-{uuid4().hex}"
    with ExitStack() as stack:
        if scope != "none":
            stack.enter_context(correlation(names["C"], names["K"], names["U"]))
        if path == "extra":
            handler = EventStoreHandler(writer=writer, capture_logs=True, log_stream=stream)
            log = logging.getLogger(f"table.{uuid4().hex}")
            log.propagate = False
            log.setLevel(logging.INFO)
            log.addHandler(handler)
            log.info("a line", extra=explicit)
        elif path == "structlog":
            processor = EventStoreProcessor(writer=writer, capture_logs=True, log_stream=stream)
            processor(None, "info", {"event": "a line", **explicit})
        elif path == "correlation()":
            if scope == "none" and not explicit:
                pass  # no scope at all: the plain root case
            else:
                stack.enter_context(correlation(**explicit))
            writer.submit(stream, {"Text": "x"}, event_type="Noted")
        else:
            bus_user = None
            if scope == "none" and set(explicit) <= {"user_id"}:
                bus_user = explicit.get("user_id")  # a root command: the bus's user
            elif explicit:
                stack.enter_context(correlation(**explicit))
            client = EventStoreClient(eventstore.url)
            with CommandBus(client, user_id=bus_user, max_age=None) as bus:
                bus.send(uuid4(), StartCamera(label="front"))
                stream = bus.stream_in
    assert writer.flush(10)
    [stored] = eventstore.events(stream)
    meta = stored.metadata_json()
    own = stored.id
    names[NOT_GIVEN] = None

    def expected(symbol: str) -> object:
        return str(own) if symbol == "own" else _text(names[symbol])

    if path == "correlation()" and scope == "none" and explicit and corr == cause == NOT_GIVEN:
        # a scope opened outside any scope with no ids: its own new id, for both
        assert meta["$correlationId"] == meta["$causationId"]
        assert meta["$correlationId"] not in {str(v) for v in names.values()}
    else:
        assert meta["$correlationId"] == expected(want_corr)
        assert meta["$causationId"] == expected(want_cause)
    assert meta.get("UserId") == expected(want_user)


def _text(value: object) -> object:
    return str(value) if isinstance(value, UUID) else value


def test_extra_correlation_inside_a_scope_starts_that_chain(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    """The reproduction: extra={"correlation_id": X} used to keep the outer chain's causation
    while correlation(correlation_id=X) wrote X; both now write X, X."""
    handler = EventStoreHandler(writer=writer, capture_logs=True, log_stream="Log-repro")
    log = logging.getLogger("table.repro")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    other = uuid4()
    with correlation():
        log.info("via extra", extra={"correlation_id": other})
        with correlation(correlation_id=other):
            log.info("via correlation()")
    assert writer.flush(10)
    metas = [e.metadata_json() for e in eventstore.events("Log-repro")]
    assert [(m["$correlationId"], m["$causationId"]) for m in metas] == [
        (str(other), str(other)),
        (str(other), str(other)),
    ]


def test_the_doc_names_the_function() -> None:
    assert re.search(r"`plumberd_logging\.context\.derive`", DOC.read_text(encoding="utf-8"))
