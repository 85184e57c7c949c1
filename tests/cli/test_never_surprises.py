"""Messages that name the real problem: connection strings, ``serve`` ports, exit codes in --help.

Each case is what a user sees: the exit code and the one ``plumberd COMMAND: ...`` line.
"""

from __future__ import annotations

import re

import pytest

from plumberd_logging import EventStoreClient
from plumberd_logging._cli._common import _MEANINGS, Exit
from plumberd_logging.cli import COMMANDS

from .conftest import Run

OK = "esdb://localhost:2113?tls=false"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "esdb://localhost:99999?tls=false",
            "connection_string: 'esdb://localhost:99999?tls=false' has port 99999 "
            "(host 'localhost'); expected 1..65535",
        ),
        (
            "esdb://a:2113,b:0?tls=false",
            "connection_string: 'esdb://a:2113,b:0?tls=false' has port 0 (host 'b'); "
            "expected 1..65535",
        ),
        (
            "esdb://localhost:2113?tsl=false",
            "connection_string: 'esdb://localhost:2113?tsl=false' has unknown option 'tsl' "
            "(did you mean tls?); known: tls, connectionName,",
        ),
        (
            "esdb://localhost:2113?tls=false&tlsCaFlie=/ca.pem",
            "has unknown option 'tlsCaFlie' (did you mean tlsCAFile?)",
        ),
        (
            "esdb://localhost:2113?tls=false&defaultDeadline=abc",
            "connection_string: option defaultDeadline: expected a positive integer, got 'abc'",
        ),
        (
            "esdb://localhost:2113?tls=false&gossipTimeout=1.5",
            "connection_string: option gossipTimeout: expected a positive integer, got '1.5'",
        ),
        (
            "esdb://localhost:2113?tls=false&keepAliveInterval=soon",
            "connection_string: option keepAliveInterval: expected a whole number, got 'soon'",
        ),
    ],
)
def test_the_client_names_what_is_wrong_in_a_connection_string(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        EventStoreClient(url)


def test_option_names_are_case_insensitive_and_keep_alive_may_be_off() -> None:
    EventStoreClient(OK.replace("tls=", "TLS=") + "&KeepAliveInterval=-1&DefaultDeadline=5")


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "esdb://localhost:99999?tls=false",
            "plumberd tail: URL: 'esdb://localhost:99999?tls=false' has port 99999 "
            "(host 'localhost'); expected 1..65535",
        ),
        (
            "esdb://localhost:2113?tsl=false",
            "plumberd tail: URL: 'esdb://localhost:2113?tsl=false' has unknown option 'tsl' "
            "(did you mean tls?)",
        ),
        (
            "esdb://localhost:2113?tls=false&defaultDeadline=abc",
            "plumberd tail: URL: option defaultDeadline: expected a positive integer, got 'abc'",
        ),
    ],
)
def test_commands_refuse_a_bad_connection_string_in_one_line(url: str, line: str, run: Run) -> None:
    done = run("tail", "Some-stream", "--url", url)
    assert done.returncode == 2
    assert done.stderr.startswith(line)
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_serve_says_when_the_cluster_ports_do_not_fit(run: Run) -> None:
    done = run("serve", "--cluster", "3", "--port", "65535")
    assert (done.returncode, done.stderr) == (
        2,
        "plumberd serve: --port 65535: 3 nodes need ports 65535..65537, past 65535; "
        "use --port 65533 or lower (or --port 0 for free ports)\n",
    )


def test_serve_refuses_a_port_out_of_range(run: Run) -> None:
    done = run("serve", "--port", "70000")
    assert (done.returncode, done.stderr) == (
        2,
        "plumberd serve: --port: expected 0..65535, got 70000\n",
    )


def _helps(run: Run) -> dict[str, str]:
    helps = {"plumberd": run("--help").stdout}
    for name in COMMANDS:
        if name != "spool":  # a group: it points to its commands' --help
            helps[name] = run(name, "--help").stdout
    for sub in ("status", "replay", "export", "purge"):
        helps[f"spool {sub}"] = run("spool", sub, "--help").stdout
    return helps


def test_every_command_help_lists_its_exit_codes_from_the_one_table(run: Run) -> None:
    assert "See `plumberd spool COMMAND --help` for each command's exit codes" in (
        run("spool", "--help").stdout
    )
    for name, text in _helps(run).items():
        assert "exit codes" in text, f"plumberd {name} --help lists no exit codes"
        block = text[text.index("exit codes") :]
        codes = [int(c) for c in re.findall(r"^ +(\d+)  ", block, re.M)]
        assert codes, name
        assert all(code in set(Exit) for code in codes), (name, codes)


def test_the_top_level_help_lists_every_exit_code_with_its_meaning(run: Run) -> None:
    text = run("--help").stdout
    for code in Exit:
        assert re.search(rf"^ +{int(code)}  {re.escape(_MEANINGS[code])}$", text, re.M), code
