"""``install()``: one line attaches plumberd-logging and the application's logging is unchanged."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator

import pytest

from plumberd_logging import EventStoreHandler, install
from plumberd_logging.bootstrap import uninstall
from plumberd_logging.config import reset_default_writer, settings_from_env
from plumberd_logging.testing import InMemoryEventStore


@pytest.fixture(autouse=True)
def pristine_root(
    monkeypatch: pytest.MonkeyPatch, eventstore: InMemoryEventStore
) -> Iterator[logging.Logger]:
    """A root logger as a fresh program has it; torn down while the server still runs."""
    for name in ("PLUMBERD_URL", "PLUMBERD_LEVEL", "PLUMBERD_CAPTURE_LOGS", "PLUMBERD_SERVICE"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    for h in saved[0]:
        root.removeHandler(h)
    root.setLevel(logging.WARNING)
    yield root
    uninstall()
    reset_default_writer()
    for h in root.handlers[:]:
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


def ours(root: logging.Logger) -> list[logging.Handler]:
    return [h for h in root.handlers if isinstance(h, EventStoreHandler)]


def test_install_attaches_once_and_captures(
    eventstore: InMemoryEventStore, pristine_root: logging.Logger
) -> None:
    handler = install(eventstore.url, capture_logs=True, service="inst")
    install(eventstore.url, capture_logs=True, service="inst")  # again: replaces, never doubles
    assert len(ours(pristine_root)) == 1
    assert handler not in pristine_root.handlers  # the second installation replaced it
    logging.getLogger("app.inst").info("hello")
    [event] = eventstore.wait_for_events("Log-inst", 1)
    assert event.json()["Message"] == "hello"


def test_basic_config_after_install_still_configures_the_app(
    eventstore: InMemoryEventStore, pristine_root: logging.Logger
) -> None:
    for h in pristine_root.handlers[:]:  # pytest's own capture handlers: a fresh program has none
        pristine_root.removeHandler(h)
    install(eventstore.url, capture_logs=True, service="bc")
    out = io.StringIO()
    logging.basicConfig(stream=out, level=logging.INFO, format="%(levelname)s:%(message)s")
    logging.getLogger("app.bc").info("configured by the app")
    assert out.getvalue() == "INFO:configured by the app\n"
    assert len(ours(pristine_root)) == 1
    eventstore.wait_for_events("Log-bc", 1)


def test_dict_config_after_install_keeps_ours_attached(
    eventstore: InMemoryEventStore, pristine_root: logging.Logger
) -> None:
    install(eventstore.url, capture_logs=True, service="dc2")
    out = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"console": {"class": "logging.StreamHandler", "stream": out}},
            "root": {"handlers": ["console"], "level": "INFO"},
        }
    )
    logging.getLogger("app.dc2").info("after dictConfig")
    assert "after dictConfig" in out.getvalue()
    assert len(ours(pristine_root)) == 1
    eventstore.wait_for_events("Log-dc2", 1)


def test_lower_level_does_not_make_the_apps_handlers_chattier(
    eventstore: InMemoryEventStore, pristine_root: logging.Logger
) -> None:
    out = io.StringIO()
    app_handler = logging.StreamHandler(out)
    pristine_root.addHandler(app_handler)  # the app prints WARNING and above (root level)
    install(eventstore.url, capture_logs=True, service="lvl", level="INFO")
    log = logging.getLogger("app.lvl")
    log.info("for the store only")
    log.warning("for both")
    assert out.getvalue() == "for both\n"
    events = eventstore.wait_for_events("Log-lvl", 2)
    assert [e.json()["Message"] for e in events] == ["for the store only", "for both"]


def test_warnings_still_reach_stderr_when_the_app_configured_nothing(
    eventstore: InMemoryEventStore,
    capsys: pytest.CaptureFixture[str],
    pristine_root: logging.Logger,
) -> None:
    for h in pristine_root.handlers[:]:  # pytest's own capture handlers: a fresh program has none
        pristine_root.removeHandler(h)
    logging.getLogger("app.none").warning("before install")
    before = capsys.readouterr().err
    install(eventstore.url, service="none")
    logging.getLogger("app.none").warning("after install")
    logging.getLogger("app.none").info("info stays quiet, as before")
    after = capsys.readouterr().err
    assert before == "before install\n"
    assert after == "after install\n"


def test_settings_from_env_name_the_bad_variable() -> None:
    settings = settings_from_env(
        {
            "PLUMBERD_URL": "esdb://h:1?tls=false",
            "PLUMBERD_LINGER": "0.25",
            "PLUMBERD_LEVEL": "debug",
        }
    )
    assert settings.url == "esdb://h:1?tls=false"
    assert settings.level == logging.DEBUG
    assert settings.writer_options == {"linger": 0.25}
    with pytest.raises(ValueError, match=r"\$PLUMBERD_MAX_QUEUE_EVENTS='-3'"):
        settings_from_env({"PLUMBERD_MAX_QUEUE_EVENTS": "-3"})
    with pytest.raises(
        ValueError, match=r"\$PLUMBERD_CAPTURE_LOGS='maybe': expected true or false"
    ):
        settings_from_env({"PLUMBERD_CAPTURE_LOGS": "maybe"})


def test_environment_values_use_the_shared_validators() -> None:
    """The same rules (and words) as the constructors' options: _options."""
    settings = settings_from_env(
        {"PLUMBERD_CAPTURE_LOGS": " On ", "PLUMBERD_MAX_QUEUE_EVENTS": " 7 "}
    )
    assert settings.capture_logs is True
    assert settings.writer_options == {"max_queue_events": 7}
    with pytest.raises(
        ValueError, match=r"^\$PLUMBERD_LINGER='soon': expected a number of seconds >= 0, got"
    ):  # was: "cannot parse: could not convert string to float: 'soon'"
        settings_from_env({"PLUMBERD_LINGER": "soon"})


def test_uninstall_restores_exactly_what_install_changed(
    eventstore: InMemoryEventStore, pristine_root: logging.Logger
) -> None:
    originals = (logging.basicConfig, logging.config.dictConfig, logging.config.fileConfig)
    app_handler = logging.StreamHandler(io.StringIO())
    pristine_root.addHandler(app_handler)
    install(eventstore.url, service="un", level="DEBUG")
    assert pristine_root.level == logging.DEBUG
    assert app_handler.level == logging.WARNING  # kept seeing what it saw
    uninstall()
    assert (logging.basicConfig, logging.config.dictConfig, logging.config.fileConfig) == originals
    assert pristine_root.level == logging.WARNING
    assert app_handler.level == logging.NOTSET
    assert app_handler in pristine_root.handlers
    assert ours(pristine_root) == []


def test_basic_config_never_removes_handlers_the_app_attached(
    eventstore: InMemoryEventStore, pristine_root: logging.Logger
) -> None:
    for h in pristine_root.handlers[:]:
        pristine_root.removeHandler(h)
    install(eventstore.url, service="own")
    apps = EventStoreHandler(eventstore.url, capture_logs=True, service="apps")
    pristine_root.addHandler(apps)
    logging.basicConfig(stream=io.StringIO())
    assert apps in pristine_root.handlers
    uninstall()
    assert pristine_root.handlers == [apps]  # uninstall leaves it alone too
    logging.getLogger("app.own").warning("still attached")
    assert apps.writer.flush(10)
    assert [e.json()["Message"] for e in eventstore.events("Log-apps")] == ["still attached"]
    pristine_root.removeHandler(apps)
    apps.close()


def test_a_root_level_that_hides_records_is_said_once(
    eventstore: InMemoryEventStore,
    pristine_root: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plumberd_logging import _diagnostics

    monkeypatch.setattr(_diagnostics, "_last", {})
    handler = EventStoreHandler(eventstore.url, capture_logs=True, service="quiet")
    pristine_root.addHandler(handler)  # the README's quick start: root still at WARNING
    logging.getLogger("app.quiet").info("never reaches the handler")
    handler.flush()  # what logging.shutdown() does at exit
    handler.flush()
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "root logger's level is WARNING, so INFO records never reach EventStoreHandler" in err
    assert "logging.basicConfig(level=logging.INFO)" in err
    pristine_root.removeHandler(handler)
    handler.close()


def test_no_level_line_when_records_arrive_or_the_level_fits(
    eventstore: InMemoryEventStore,
    pristine_root: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plumberd_logging import _diagnostics

    monkeypatch.setattr(_diagnostics, "_last", {})
    handler = install(eventstore.url, capture_logs=True, service="fits")
    logging.getLogger("app.fits").info("arrives")
    pristine_root.setLevel(logging.ERROR)  # the app raised it later: records arrived already
    handler.flush()
    assert "root logger's level" not in capsys.readouterr().err
    wide = EventStoreHandler(eventstore.url, level=logging.ERROR)
    pristine_root.addHandler(wide)
    wide.flush()
    assert capsys.readouterr().err == ""
    pristine_root.removeHandler(wide)
    wide.close()


def test_no_level_line_while_dictconfig_reconfigures(
    eventstore: InMemoryEventStore,
    pristine_root: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plumberd_logging import _diagnostics

    monkeypatch.setattr(_diagnostics, "_last", {})
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"events": {"class": "plumberd_logging.EventStoreHandler",
                                "url": eventstore.url, "capture_logs": True}},
        "root": {"handlers": ["events"], "level": "WARNING"},
    }  # fmt: skip
    logging.config.dictConfig(config)
    config["root"]["level"] = "INFO"  # type: ignore[index]
    logging.config.dictConfig(config)  # flushes and closes the first handler, lock held
    assert "root logger's level" not in capsys.readouterr().err
    for h in ours(pristine_root):
        pristine_root.removeHandler(h)
        h.close()
