"""RateLimitedLog: a burst per window passes, the rest is counted and reported with the next line that passes."""

from __future__ import annotations

import logging

import pytest

from module.link.log_limit import RateLimitedLog, loggable


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(caplog: pytest.LogCaptureFixture) -> tuple[RateLimitedLog, FakeTime]:
    caplog.set_level(logging.INFO, logger="test.limit")
    clock = FakeTime()
    return RateLimitedLog(logging.getLogger("test.limit"), burst=3, window=10.0, clock=clock), clock


def test_burst_passes_then_lines_are_counted(limited: tuple[RateLimitedLog, FakeTime],
                                             caplog: pytest.LogCaptureFixture) -> None:
    log, clock = limited
    for n in range(8):
        log.log(logging.WARNING, "bad frame %d", n)
    assert [r.getMessage() for r in caplog.records] == ["bad frame 0", "bad frame 1", "bad frame 2"]
    clock.now = 9.9
    log.log(logging.WARNING, "bad frame %d", 8)
    assert len(caplog.records) == 3 and log.suppressed == 6
    clock.now = 10.0
    log.log(logging.WARNING, "bad frame %d", 9)
    log.log(logging.WARNING, "bad frame %d", 10)
    assert [r.getMessage() for r in caplog.records[3:]] == ["bad frame 9 (6 similar lines suppressed)",
                                                            "bad frame 10"]
    assert log.suppressed == 6


def test_disabled_level_neither_passes_nor_counts(limited: tuple[RateLimitedLog, FakeTime],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    log, _ = limited
    for _ in range(5):
        log.log(logging.DEBUG, "detail")
    log.log(logging.WARNING, "shown")
    assert [r.getMessage() for r in caplog.records] == ["shown"] and log.suppressed == 0


def test_traceback_only_when_asked(limited: tuple[RateLimitedLog, FakeTime], caplog: pytest.LogCaptureFixture) -> None:
    log, _ = limited
    try:
        raise RuntimeError("bug")
    except RuntimeError:
        log.log(logging.ERROR, "with traceback", exc_info=True)
        log.log(logging.ERROR, "without")
    assert caplog.records[0].exc_info is not None and caplog.records[0].exc_info[0] is RuntimeError
    assert not caplog.records[1].exc_info
    assert caplog.records[0].funcName == "test_traceback_only_when_asked"  # the caller, not the helper


@pytest.mark.parametrize(("text", "shown"), [
    ("plain-id", "plain-id"),
    ("line\nbreak\x00", "line\\nbreak\\u0000"),
    ("\ud800 lone", "\\ud800 lone"),
    ("caf\u00e9 'q' \"d\"", "caf\\u00e9 'q' \\\"d\\\""),
    ("x" * 70, "x" * 60 + "..."),
])
def test_loggable_keeps_one_line_of_ascii(text: str, shown: str) -> None:
    assert loggable(text) == shown
