"""``LogRecorded`` and ``LoggedException``: the C# side of captured log lines.

The bodies are built in ``plumberd_logging/_capture.py`` (stdlib handler and structlog
processor; structlog lines have no Module/Function/Line, and ``dict_tracebacks`` adds a
structured ``Chain``). ``tests/cli/test_demo.py`` checks these against what is written.
"""

from __future__ import annotations

from plumberd_logging.csharp._model import CsType, PyProperty, PyRecord

__all__ = ["LOG_CATEGORY", "log_records"]

LOG_CATEGORY = "Log"
_ORIGIN = "plumberd_logging (captured log lines, see plumberd_logging/_capture.py)"


def _p(wire: str, cs: str, python: str, *args: CsType, nullable: bool = False) -> PyProperty:
    return PyProperty(wire, CsType(cs, args, nullable), python)


def log_records(namespace: str) -> tuple[PyRecord, PyRecord]:
    """The two records, in ``namespace``."""
    s = CsType("string")
    log = PyRecord(
        name="LogRecorded",
        origin=_ORIGIN,
        namespace=namespace,
        is_event=True,
        category=LOG_CATEGORY,
        properties=(
            _p("Id", "Guid", "UUID"),
            _p("Level", "string", "str"),
            _p("Logger", "string", "str"),
            _p("Message", "string", "str"),
            _p("Template", "string", "str"),
            _p("Timestamp", "DateTimeOffset", "datetime"),
            _p("Exception", "LoggedException", "dict | None", nullable=True),
            _p("Thread", "string", "str | None", nullable=True),
            _p("Process", "int", "int | None", nullable=True),
            _p("Host", "string", "str"),
            _p("Service", "string", "str"),
            _p("Module", "string", "str | None", nullable=True),
            _p("Function", "string", "str | None", nullable=True),
            _p("Line", "int", "int | None", nullable=True),
            _p(
                "Properties",
                "Dictionary",
                "dict[str, Any] | None",
                s,
                CsType("JsonElement"),
                nullable=True,
            ),
        ),
    )
    exception = PyRecord(
        name="LoggedException",
        origin=_ORIGIN,
        namespace=namespace,
        is_event=False,
        properties=(
            _p("Type", "string", "str | None", nullable=True),
            _p("Message", "string", "str | None", nullable=True),
            _p("StackTrace", "string", "str | None", nullable=True),
            _p("Chain", "JsonElement", "list[dict] | None", nullable=True),
        ),
    )
    return log, exception
