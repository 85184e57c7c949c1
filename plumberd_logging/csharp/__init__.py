"""Keep C# in step: generate the records that read your events, and check hand-written ones.

    from plumberd_logging.csharp import check, render

    print(render([OrderPlaced, TaskScheduled], namespace="Shop.Orders.Events"))
    for finding in check([OrderPlaced], ["../dotnet/Events"]):   # needs the [csharp] extra
        print(finding)      # error OrderPlaced.Total: Python Decimal, C# string: throws ...

``render`` writes positional records (``Guid Id`` first, names exactly as the codec writes
them), enums for ``IntEnum`` fields, records for nested dataclasses / pydantic models, and
``[OutputStream("X")]`` where the namespace alone would give MicroPlumberd another category.
``check`` parses C# with tree-sitter (``pip install "plumberd-logging[csharp]"``) and reports
what System.Text.Json would read silently wrong. The ``plumberd csharp`` and
``plumberd contract check`` commands are thin wrappers around these.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from plumberd_logging.csharp._check import Finding, check_contract
from plumberd_logging.csharp._discover import TargetError, find_event_classes
from plumberd_logging.csharp._model import Contract, build_contract
from plumberd_logging.csharp._parse import MissingParser, parse_sources
from plumberd_logging.csharp._render import render_contract, render_contract_files

__all__ = [
    "LOG_NAMESPACE",
    "Finding",
    "MissingParser",
    "TargetError",
    "check",
    "contract",
    "find_event_classes",
    "render",
    "render_files",
]

#: The namespace of ``LogRecorded``/``LoggedException`` when no namespace is given.
LOG_NAMESPACE = "Plumberd.Log.Events"


def contract(
    classes: Iterable[type], *, namespace: str | None = None, log_records: bool = False
) -> Contract:
    """What the Python side writes for ``classes``: the records and enums C# needs.

    ``namespace`` puts every type in one C# namespace (default: one per Python module,
    ``myapp.events`` -> ``Myapp.Events``); ``log_records`` adds ``LogRecorded`` and
    ``LoggedException``, the events captured log lines become.
    """
    from plumberd_logging.csharp._logrecords import log_records as make_log_records

    built = build_contract(classes, namespace=namespace)
    if not log_records:
        return built
    extra = make_log_records(namespace or LOG_NAMESPACE)
    events = [r for r in built.records if r.is_event] + [extra[0]]
    nested = [r for r in built.records if not r.is_event] + [extra[1]]
    return Contract(tuple(events + nested), built.enums)


def render(
    classes: Iterable[type], *, namespace: str | None = None, log_records: bool = False
) -> str:
    """C# source for ``classes`` (one text; see :func:`contract` for the options).

    >>> from plumberd_logging import Event
    >>> class RecordingFinished(Event, category="Recording"):
    ...     recording_id: str
    ...     duration: float
    >>> print(render([RecordingFinished], namespace="Cam.Recording.Events").splitlines()[-1])
    public record RecordingFinished(Guid Id, string RecordingId, double Duration);
    """
    return render_contract(contract(classes, namespace=namespace, log_records=log_records))


def render_files(
    classes: Iterable[type], *, namespace: str | None = None, log_records: bool = False
) -> dict[str, str]:
    """Like :func:`render`, one file per namespace: ``{"Myapp.Events.cs": text, ...}``."""
    return render_contract_files(contract(classes, namespace=namespace, log_records=log_records))


def check(
    classes: Iterable[type],
    cs_sources: Iterable[str | os.PathLike[str]] | Mapping[str, str],
    *,
    log_records: bool = False,
) -> list[Finding]:
    """What C# would read wrong from the events of ``classes``, as :class:`Finding` objects.

    ``cs_sources``: C# files or directories (searched for ``*.cs``, ``bin``/``obj`` skipped),
    or a mapping ``{file name: C# text}``. Records are matched to event types by their simple
    name. Raises :class:`MissingParser` without the ``[csharp]`` extra and
    ``FileNotFoundError`` for a path that does not exist.

    >>> from plumberd_logging import Event
    >>> class Paid(Event):
    ...     order_id: str
    >>> [finding] = check([Paid], {"Paid.cs": "public record Paid(Guid Id, string OrderID);"})
    >>> finding.kind, finding.property, finding.consequence[:40]
    ('case', 'OrderId', 'reads as null: Python writes "OrderId", ')
    """
    sources = parse_sources(cs_sources)
    return check_contract(contract(classes, log_records=log_records), sources)
