"""Message log (JSON lines + HTML, rotated) and secrets kept out of it and out of every log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from module.link.link import OcppLink
from module.link.message_log import MessageLog
from tests.link.link_helpers import Csms, connected_pair

KEY = "SuperSecretKey-4242"
NEW_KEY = "NextSecretKey-9999"


async def test_frames_logged_with_direction_and_action(csms: Csms, new_link: Callable[..., OcppLink],
                                                       tmp_path: Path) -> None:
    log = MessageLog(tmp_path)
    link, peer = await connected_pair(csms, new_link, message_log=log)
    await link.call("Heartbeat", {})
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    await peer.send([2, "r1", "Reset", {"type": "Soft"}])
    await peer.next()
    rows = [json.loads(line) for line in (tmp_path / "messages.jsonl").read_text().splitlines()]
    frames = [(r["direction"], r["type"], r["action"]) for r in rows if r["direction"] != "event"]
    assert frames == [("out", "CALL", "Heartbeat"), ("in", "CALLRESULT", "Heartbeat"),
                      ("in", "CALL", "Reset"), ("out", "CALLRESULT", "Reset")]
    assert rows[0]["direction"] == "event" and "connected" in rows[0]["frame"]
    page = (tmp_path / "messages.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<div class="row out') == 2 and page.count('<div class="row in') == 2
    assert 'data-action="Reset"' in page and "<details>" in page and "applyFilter" in page


def test_rotation_bounds_the_disk(tmp_path: Path) -> None:
    log = MessageLog(tmp_path, max_file_size=4096, max_files=3)
    for n in range(400):
        log.frame("out", json.dumps([2, f"id-{n}", "Heartbeat", {}]), "Heartbeat")
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["messages.1.html", "messages.1.jsonl", "messages.2.html", "messages.2.jsonl",
                     "messages.html", "messages.jsonl"]
    assert all(p.stat().st_size <= 4096 for p in tmp_path.iterdir())
    assert "id-399" in (tmp_path / "messages.jsonl").read_text()
    assert (tmp_path / "messages.1.html").read_text().startswith("<!DOCTYPE html>")


async def test_authorization_key_never_shown(csms: Csms, new_link: Callable[..., OcppLink], tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log = MessageLog(tmp_path)
    async with Csms(password=KEY) as secure:
        link = new_link(secure.uri(), security_profile=1, authorization_key=KEY, message_log=log)
        await link.start()
        peer = await secure.peer()
        await link.wait_connected()

        async def change(payload: dict) -> dict:
            logging.getLogger("module.link.test").info("changing %s", payload)
            raise RuntimeError(f"cannot store {payload['value']}")

        link.register_handler("ChangeConfiguration", change)
        await peer.send([2, "c1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW_KEY}])
        reply = await peer.next()
        assert reply[2] == "InternalError" and NEW_KEY not in json.dumps(reply)
        await peer.send([2, "c2", "ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW_KEY,
                                                          "extra": 1}])
        assert (await peer.next())[2] == "FormationViolation"
        await peer.send('[2, "c3", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "' + NEW_KEY)
        assert (await peer.next())[2] == "ProtocolError"
    log.close()
    shown = caplog.text + "".join(p.read_text() for p in tmp_path.iterdir())
    for secret in (KEY, NEW_KEY, "U3VwZXJTZWNyZXRLZXk", "Basic Q1Ax"):
        assert secret not in shown
    assert "*****" in (tmp_path / "messages.jsonl").read_text()
    assert "*****" in (tmp_path / "messages.html").read_text()
