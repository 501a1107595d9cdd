"""Hypothesis throws arbitrary frames at the link: no exception escapes, every reply is well-formed,
the same connection keeps working."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from module.link.link import OcppLink
from module.link.protocol import OCPP16
from module.link.settings import LinkSettings
from tests.link.link_helpers import Csms

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
actions = st.sampled_from(sorted(OCPP16.action_profiles)) | st.text(max_size=20)
ids = st.text(max_size=40) | st.integers()
payloads = st.dictionaries(st.sampled_from(["type", "idTag", "connectorId", "key", "value", "x"]),
                           json_values, max_size=4) | json_values
ocpp_like = st.one_of(
    st.tuples(st.just(2), ids, actions, payloads).map(list),
    st.tuples(st.sampled_from([3, 4]), ids, json_values).map(list),
    st.tuples(st.just(4), ids, st.text(max_size=20), st.text(max_size=20), json_values).map(list),
    st.lists(json_values, max_size=6),
).map(json.dumps)
frames = st.one_of(ocpp_like, st.text(max_size=60), st.binary(max_size=30), json_values.map(json.dumps))


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "handler failed" not in record.getMessage():  # our own handler below raises on purpose
            self.records.append(record)


async def scenario(sent: list[str | bytes]) -> None:
    errors = Errors()
    logging.getLogger("module.link").addHandler(errors)
    loop_errors: list[Any] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: loop_errors.append(ctx))
    try:
        async with Csms() as csms:
            link = OcppLink(LinkSettings(csms.uri(), "CP1"))

            def reset(payload: dict[str, Any]) -> dict[str, Any]:
                if payload["type"] == "Hard":
                    raise RuntimeError("no")
                return {"status": "Accepted"}

            link.register_handler("Reset", reset)
            link.register_handler("ChangeConfiguration", lambda payload: {"status": "Rejected"})
            await link.start()
            peer = await csms.peer()
            await link.wait_connected()
            for frame in sent:
                await peer.ws.send(frame)
            await peer.send([2, "probe", "Reset", {"type": "Soft"}])
            while True:
                reply = await peer.next()
                assert isinstance(reply, list) and reply[0] in (3, 4)
                assert len(reply) == (3 if reply[0] == 3 else 5)
                assert isinstance(reply[1], str)
                if reply[0] == 4:
                    assert isinstance(reply[2], str) and isinstance(reply[3], str) and isinstance(reply[4], dict)
                if reply[1] == "probe" and reply[0] == 3:
                    break
            assert link.connected and csms.peers.empty()
            await link.stop()
    finally:
        logging.getLogger("module.link").removeHandler(errors)
    assert errors.records == [] and loop_errors == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frames, min_size=1, max_size=8))
def test_arbitrary_frames_never_break_the_link(sent: list[str | bytes]) -> None:
    asyncio.run(scenario(sent))
