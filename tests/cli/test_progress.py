"""The progress bar: drawn on a terminal only, erased at the end."""

from __future__ import annotations

import io
import time

from plumberd_logging._cli._progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_on_a_terminal_and_erases_itself() -> None:
    screen = Terminal()
    with Progress("replaying", 200, stream=screen) as bar:
        assert bar.active
        bar.update(50)
        bar.update(200)  # completion is always drawn
    text = screen.getvalue()
    assert "\rreplaying [#######-----------------------] 50/200" in text
    assert "\rreplaying [##############################] 200/200" in text
    assert text.endswith(
        "\r" + " " * len("replaying [##############################] 200/200") + "\r"
    )


def test_draws_nothing_when_not_a_terminal() -> None:
    pipe = io.StringIO()
    with Progress("exporting", 10, stream=pipe) as bar:
        assert not bar.active
        for i in range(11):
            bar.update(i)
    assert pipe.getvalue() == ""


def test_redraws_at_most_ten_times_a_second() -> None:
    screen = Terminal()
    bar = Progress("exporting", 100_000, stream=screen)
    start = time.monotonic()
    for i in range(1, 100_000):
        bar.update(i)
    elapsed = time.monotonic() - start
    assert 1 <= screen.getvalue().count("\r") <= elapsed / 0.1 + 1  # not 100,000 writes
    bar.close()
