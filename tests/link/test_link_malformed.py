"""Frames that once went unanswered (issue 13): odd types in pre-checked fields, lone surrogates, deep nesting.
Every CALL gets an answer with its id, the message log survives, and a flood of bad frames logs a few lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from module.link.link import MAX_FRAME_DEPTH, OcppLink
from module.link.message_log import MessageLog
from tests.link.link_helpers import Csms, Peer, connected_pair


async def answered(peer: Peer, frame: Any) -> list[Any]:
    """Sends one frame and returns the reply, checking the link is still up for the next CALL."""
    await peer.send(frame)
    return await peer.next()


@pytest.fixture(params=["no log", "message log"])
def log_kwargs(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return {} if request.param == "no log" else {"message_log": MessageLog(tmp_path)}


@pytest.mark.parametrize("key", [[], {}, ["AuthorizationKey"], {"AuthorizationKey": 1}])
async def test_unexpected_type_in_a_prechecked_field(csms: Csms, new_link: Callable[..., OcppLink],
                                                     log_kwargs: dict[str, Any], key: Any) -> None:
    link, peer = await connected_pair(csms, new_link, **log_kwargs)
    link.register_handler("ChangeConfiguration", lambda payload: {"status": "Accepted"})
    reply = await answered(peer, [2, "cc", "ChangeConfiguration", {"key": key, "value": "secret-value"}])
    assert reply[:3] == [4, "cc", "TypeConstraintViolation"]
    assert await answered(peer, [2, "ok", "ChangeConfiguration", {"key": "K", "value": "v"}]) == \
        [3, "ok", {"status": "Accepted"}]


SURROGATE_FRAMES = [
    ('[2, "\\ud800", "Reset", {"type": "Soft"}]', "\ud800", 3),
    ('[2, "s2", "Reset", {"type": "\\udfff"}]', "s2", 4),
    ('[2, "s3", "ChangeConfiguration", {"key": "\\ud800x", "value": "\\udc00"}]', "s3", 3),
    ('[2, "s4", "DataTransfer", {"vendorId": "V", "data": "\\ud83d"}]', "s4", 3),
]


@pytest.mark.parametrize(("text", "unique_id", "kind"), SURROGATE_FRAMES)
async def test_lone_surrogate_is_answered_and_logged_escaped(csms: Csms, new_link: Callable[..., OcppLink],
                                                             tmp_path: Path, text: str, unique_id: str,
                                                             kind: int) -> None:
    log = MessageLog(tmp_path)
    link, peer = await connected_pair(csms, new_link, message_log=log)
    for action in ("Reset", "ChangeConfiguration", "DataTransfer"):
        link.register_handler(action, lambda payload: {"status": "Accepted"})
    reply = await answered(peer, text)
    assert reply[:2] == [kind, unique_id]
    await link.stop()
    assert log.failures == 0
    rows = [json.loads(line) for line in (tmp_path / "messages.jsonl").read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows if r["direction"] == "in"] == [unique_id]
    assert "\\ud" in (tmp_path / "messages.html").read_text("utf-8")


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


DEEP_FRAMES = [
    ("one level past the limit", '[2, "d1", "Reset", {"type": ' + deep(MAX_FRAME_DEPTH - 1) + "}]", "d1",
     "FormationViolation"),
    ("payload nested past the parser", '[2, "d2", "Reset", ' + deep(5000) + "]", "d2", "FormationViolation"),
    ("objects nested past the parser", '[2, "d3", "Reset", ' + '{"a":' * 5000 + "1" + "}" * 5000 + "]", "d3",
     "FormationViolation"),
    ("id with escapes", '[2, "d\\u00e9\\"4", "Reset", ' + deep(5000) + "]", 'd\u00e9"4', "FormationViolation"),
    ("id unreadable", "[2, " + deep(5000) + ', "Reset", {}]', "-1", "ProtocolError"),
    ("whole frame", deep(5000), "-1", "ProtocolError"),
    ("unknown message type", '[7, "d7", ' + deep(5000) + "]", "d7", "ProtocolError"),
    ("deep and not JSON", '[2, "d8", "Reset", ' + "[" * 5000, "d8", "FormationViolation"),
]


@pytest.mark.parametrize(("case", "text", "unique_id", "code"), DEEP_FRAMES, ids=[c[0] for c in DEEP_FRAMES])
async def test_deep_nesting_is_refused_with_the_id(csms: Csms, new_link: Callable[..., OcppLink],
                                                   log_kwargs: dict[str, Any], case: str, text: str,
                                                   unique_id: str, code: str) -> None:
    link, peer = await connected_pair(csms, new_link, **log_kwargs)
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    reply = await answered(peer, text)
    assert reply[:3] == [4, unique_id, code]
    assert await answered(peer, [2, "ok", "Reset", {"type": "Soft"}]) == [3, "ok", {"status": "Accepted"}]


async def test_nesting_at_the_limit_reaches_the_schema_check(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    text = '[2, "d", "Reset", {"type": ' + deep(MAX_FRAME_DEPTH - 2) + "}]"
    assert (await answered(peer, text))[:3] == [4, "d", "TypeConstraintViolation"]


async def test_deep_reply_is_dropped_and_the_link_stays_up(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    await peer.send('[3, "nobody", ' + deep(5000) + "]")
    await peer.send('[4, "nobody", "GenericError", "", {"a": ' + deep(50) + "}]")
    assert await answered(peer, [2, "ok", "Reset", {"type": "Soft"}]) == [3, "ok", {"status": "Accepted"}]


async def test_huge_number_is_refused_with_the_id(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    _, peer = await connected_pair(csms, new_link)
    reply = await answered(peer, '[2, "n", "UnlockConnector", {"connectorId": ' + "9" * 5000 + "}]")
    assert reply[:3] == [4, "n", "ProtocolError"]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Any:
    handler = Records()
    root = logging.getLogger("module.link")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.records
    root.removeHandler(handler)
    root.setLevel(level)


async def test_flood_of_bad_frames_logs_a_few_compact_lines(csms: Csms, new_link: Callable[..., OcppLink],
                                                            tmp_path: Path, records: list[logging.LogRecord]) -> None:
    link, peer = await connected_pair(csms, new_link, message_log=MessageLog(tmp_path))
    link.register_handler("ChangeConfiguration", lambda payload: {"status": "Accepted"})
    bad = ['[2, "x", "Reset", ' + deep(3000) + "]", '[2, "x", "ChangeConfiguration", {"key": []}]',
           '[2, "\\ud800", "Nope", {}]', "[2, \"x\"", '[2, "x\\n\\u0000", "Reset", {"type": "\\udfff"}]']
    for n in range(400):
        await peer.send(bad[n % len(bad)])
    for _ in range(400):
        assert (await peer.next())[0] == 4
    assert link.connected
    refusals = [r for r in records if r.levelno >= logging.WARNING]
    assert 0 < len(refusals) <= 25
    assert not any(r.exc_info for r in records)
    assert all("\n" not in r.getMessage() and "\ud800" not in r.getMessage() for r in records)


async def test_failing_message_log_is_counted_not_propagated(csms: Csms, new_link: Callable[..., OcppLink],
                                                             tmp_path: Path,
                                                             records: list[logging.LogRecord]) -> None:
    (tmp_path / "messages.jsonl").mkdir()  # every write of the JSON lines file fails
    log = MessageLog(tmp_path)
    link, peer = await connected_pair(csms, new_link, message_log=log)
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    for n in range(30):
        assert await answered(peer, [2, f"r{n}", "Reset", {"type": "Soft"}]) == [3, f"r{n}", {"status": "Accepted"}]
    assert log.failures >= 60
    reported = [r for r in records if "message log" in r.getMessage()]
    assert 0 < len(reported) <= 20 and not any(r.exc_info for r in reported)


async def test_bug_before_the_handler_still_answers_with_a_traceback(csms: Csms, new_link: Callable[..., OcppLink],
                                                                     records: list[logging.LogRecord]) -> None:
    link, peer = await connected_pair(csms, new_link)
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})

    def gate(action: str) -> bool:
        raise KeyError(action)

    link.set_incoming_gate(gate)
    reply = await answered(peer, [2, "g", "Reset", {"type": "Soft"}])
    assert reply[:3] == [4, "g", "InternalError"] and "KeyError" in reply[3]
    bugs = [r for r in records if r.exc_info]
    assert len(bugs) == 1 and bugs[0].levelno == logging.ERROR and "Reset" in bugs[0].getMessage()


async def test_secret_in_a_frame_too_deep_to_parse_stays_masked(csms: Csms, new_link: Callable[..., OcppLink],
                                                                tmp_path: Path) -> None:
    log = MessageLog(tmp_path)
    link, peer = await connected_pair(csms, new_link, message_log=log)
    secret = "DeepSecretKey-31337"
    text = ('[2, "c", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "' + secret + '", "x": '
            + deep(5000) + "}]")
    assert (await answered(peer, text))[:3] == [4, "c", "FormationViolation"]
    await link.stop()
    assert log.failures == 0
    assert all(secret not in p.read_text("utf-8") for p in tmp_path.iterdir())


async def test_frame_over_max_frame_size_closes_the_connection(csms: Csms,
                                                               new_link: Callable[..., OcppLink]) -> None:
    """The one limit not answered by a CALLERROR: websockets stops reading past max_frame_size (close code 1009,
    Message Too Big), since the frame would have to be read whole to be answered. The link reconnects."""
    link, peer = await connected_pair(csms, new_link, max_frame_size=4096)
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    await peer.send([2, "big", "DataTransfer", {"vendorId": "V", "data": "x" * 5000}])
    await peer.ws.wait_closed()
    assert peer.ws.close_code == 1009
    again = await csms.peer()
    assert await answered(again, [2, "ok", "Reset", {"type": "Soft"}]) == [3, "ok", {"status": "Accepted"}]
