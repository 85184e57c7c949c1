"""The code blocks of README.md and docs/**/*.md, as the documentation tests run them.

Markers (an HTML comment on the line before a block, or after it):

- ``<!-- not-run: REASON -->`` before a ```python block: a deliberate fragment, skipped.
- ``<!-- pytest -->`` before a ```python block: a test module, run with pytest (its fixtures
  come from the plugin plumberd-logging installs).
- ``<!-- output -->`` after a ```python block, followed by a ```text block: the program's
  stdout, compared line by line; ``...`` in a line matches any text (ids, times).
- ``<!-- expect-stream: NAME COUNT -->`` after a block: once the program has exited, the
  server holds COUNT events in stream NAME (what ``plumberd tail NAME`` would show).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

__all__ = ["ROOT", "Block", "blocks_of", "documentation_files", "matches"]

ROOT = Path(__file__).resolve().parents[2]
DEMO_URL = "esdb://localhost:2113?tls=false"

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*$")
_NOT_RUN = re.compile(r"^<!-- not-run: (?P<reason>.+?) -->$")
_EXPECT_STREAM = re.compile(r"^<!-- expect-stream: (?P<stream>\S+) (?P<count>\d+) -->$")


@dataclasses.dataclass
class Block:
    """One fenced code block and what the page says about it."""

    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip_reason: str | None = None
    pytest: bool = False
    output: str | None = None
    streams: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documentation_files() -> list[Path]:
    """README.md and every Markdown page of the documentation site."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of ``path``, with its markers applied."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        indent, lang = len(fence["indent"]), fence["lang"]
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
        block = Block(path, i + 1, lang, code)
        before = _previous_text(lines, i)
        skip = _NOT_RUN.match(before)
        if skip is not None:
            block.skip_reason = skip["reason"]
        block.pytest = before == "<!-- pytest -->"
        blocks.append(block)
        i = end + 1
        # Markers after the block: expect-stream lines, then perhaps an output block.
        j = _next_text_index(lines, i)
        while j is not None:
            text = lines[j].strip()
            stream = _EXPECT_STREAM.match(text)
            if stream is not None:
                block.streams[stream["stream"]] = int(stream["count"])
            elif text == "<!-- output -->":
                k = _next_text_index(lines, j + 1)
                if k is None or not lines[k].strip().startswith("```text"):
                    raise ValueError(f"{path}:{j + 1}: <!-- output --> needs a ```text block")
                close = k + 1
                while lines[close].strip() != "```":
                    close += 1
                block.output = "\n".join(lines[k + 1 : close]) + "\n"
                i = k  # the text block is still collected (as a non-python block)
            else:
                break
            j = _next_text_index(lines, j + 1)
            if block.output is not None:
                break
    return blocks


def _previous_text(lines: list[str], index: int) -> str:
    for line in reversed(lines[:index]):
        if line.strip():
            return line.strip()
    return ""


def _next_text_index(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return None


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` has ``expected``'s lines, where ``...`` matches any text."""
    want, got = expected.rstrip("\n").split("\n"), actual.rstrip("\n").split("\n")
    if len(want) != len(got):
        return False
    for pattern, line in zip(want, got, strict=True):
        regex = ".*".join(re.escape(part) for part in pattern.rstrip().split("..."))
        if re.fullmatch(regex, line.rstrip()) is None:
            return False
    return True
