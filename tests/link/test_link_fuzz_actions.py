"""Hypothesis plays a hostile CSMS over every OCPP 1.6 CSMS->CP action: valid payloads mutated (types, missing
and extra fields, odd and 1 MB strings, deep nesting), wrong message type ids, broken frames, duplicate ids.
Every CALL is answered with its own id, the connection stays up and the log stays short, message log on or off.

fuzz_long_run.py runs the same frames by the hundred thousand and counts unanswered CALLs instead of failing."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from module.link.link import OcppLink
from module.link.message_log import MessageLog
from module.link.protocol import OCPP16
from module.link.settings import LinkSettings
from tests.link.link_helpers import Csms, Peer

CSMS_TO_CP = (
    "CancelReservation", "CertificateSigned", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
    "ClearChargingProfile", "DataTransfer", "DeleteCertificate", "ExtendedTriggerMessage", "GetCompositeSchedule",
    "GetConfiguration", "GetDiagnostics", "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog",
    "InstallCertificate", "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset",
    "SendLocalList", "SetChargingProfile", "SignedUpdateFirmware", "TriggerMessage", "UnlockConnector",
    "UpdateFirmware",
)
CALLERROR_CODES = {"NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError",
                   "FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation",
                   "TypeConstraintViolation", "GenericError"}
PROBES = ("probe-1", "probe-2")
FRAMES_PER_EXAMPLE = 30  # more than the refusals logged per minute: the rate limit shows
LOG_LINES_PER_EXAMPLE = 15  # connect and disconnect lines, and a burst of refusals


class Frame(NamedTuple):
    """What the CSMS sends, the id its answer must carry (None: a reply, not answered), how it was made."""

    data: str | bytes
    answer_id: str | None
    shape: str


def load_schema(action: str, response: bool = False) -> dict[str, Any]:
    path = OCPP16.response_schema_file(action) if response else OCPP16.request_schema_file(action)
    return json.loads(path.read_text("utf-8-sig"))


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    return root["definitions"][schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema


def valid(schema: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Payloads the schema accepts (the OCA files use only these keywords)."""
    schema = resolve(schema, root)
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "object":
        properties = {name: valid(sub, root) for name, sub in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        return st.fixed_dictionaries({n: s for n, s in properties.items() if n in required},
                                     optional={n: s for n, s in properties.items() if n not in required})
    if kind == "array":
        return st.lists(valid(schema["items"], root), min_size=schema.get("minItems", 0), max_size=3)
    if kind == "string":
        return st.text(max_size=min(schema.get("maxLength", 40), 40))
    if kind == "integer":
        return st.integers(-(2**31), 2**31 - 1)
    if kind == "number":
        return st.integers(-10_000, 10_000).map(lambda n: n / 10)  # a multiple of 0.1 where one is asked
    assert kind == "boolean", schema
    return st.booleans()


def minimal(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """The smallest payload the schema accepts: what the handlers answer."""
    schema = resolve(schema, root)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: minimal(schema["properties"][name], root) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(schema["items"], root)] * schema.get("minItems", 0)
    return {"string": "x", "integer": 0, "number": 0, "boolean": False}[kind]


REQUESTS = {action: valid(schema, schema) for action in CSMS_TO_CP for schema in [load_schema(action)]}
RESPONSES = {action: minimal(schema, schema) for action in CSMS_TO_CP for schema in [load_schema(action, True)]}

# Stands for a deeply nested value until the frame is text (json.dumps itself cannot nest that deep).
DEEP = "\ue000deep\ue000"
ODD_STRINGS = ["\ud800", "tail \udfff", "\udc00\ud800", "nul\x00 bell\x07 del\x7f", "\n\r\t\x1b[2J", "\u202e\ufeff",
               "\U0001f600" * 50, "é" * 600, ""]
MEGABYTE = "x" * 2**20  # only by the "odd" mutation: at most 3 per frame, far below the link's max_frame_size
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(2**63, 2**80) | st.floats(allow_nan=False,
                                                                                      allow_infinity=False)
    | st.text(max_size=20) | st.sampled_from(ODD_STRINGS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
ids = (st.sampled_from(["a", "b", "c", "", "\ud800", "id\n\x00", "é" * 36, "x" * 1000])
       | st.text(max_size=36)).filter(lambda unique_id: unique_id != "-1" and unique_id not in PROBES)


def containers(value: Any) -> list[Any]:
    """Every dict and list inside value, value first."""
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list):
            found.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    return found


# each mutation works inside one random object or array of the payload; "deep" only where the frame allows
MUTATIONS = ("type", "drop", "extra", "odd", "whole", "deep")
REPLACEMENTS = {"type": json_values, "odd": st.sampled_from([*ODD_STRINGS, MEGABYTE]), "deep": st.just(DEEP)}


@st.composite
def mutated(draw: st.DrawFn, action: str, deep: bool) -> Any:
    """A valid payload of the action with 0 to 3 mutations."""
    payload = draw(REQUESTS[action])
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.sampled_from(MUTATIONS if deep else MUTATIONS[:-1]))
        found = containers(payload)
        if mutation == "whole" or not found:
            payload = draw(json_values)
            continue
        target = draw(st.sampled_from(found))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if mutation == "extra" and isinstance(target, dict):
            target[draw(st.text(max_size=12))] = draw(json_values)
        elif mutation == "extra":
            target.append(draw(json_values))
        elif keys and mutation == "drop":
            del target[draw(st.sampled_from(keys))]
        elif keys:
            target[draw(st.sampled_from(keys))] = draw(REPLACEMENTS[mutation])
    return payload


def to_text(frame: list[Any], nested: str) -> str:
    """The frame as JSON, each DEEP stand-in replaced by the nested value."""
    return json.dumps(frame).replace(json.dumps(DEEP), nested)


# around the link's limit of 32 levels, past what json.loads can follow (about 1,000), and far past it
NESTED = [opening * depth + inner + closing * depth for depth in (25, 31, 33, 300, 1500, 6000)
          for opening, inner, closing in (("[", "", "]"), ('{"a":', "1", "}"))]


SHAPES = ["call"] * 8 + ["binary", "cut", "message type", "reply", "short", "long", "id type", "not a CALL"]


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """One frame of a hostile CSMS and the id its answer must carry."""
    shape = draw(st.sampled_from(SHAPES))
    action = draw(st.sampled_from(CSMS_TO_CP))
    payload = draw(mutated(action, deep=shape in ("call", "cut", "reply")))
    name = action if draw(st.integers(0, 9)) else draw(st.sampled_from(["BootNotification", "Nope", "reset",
                                                                        "\ud800", ""]))
    unique_id = draw(ids)
    nested = draw(st.sampled_from(NESTED))
    if shape in ("call", "binary", "cut"):
        text = to_text([2, unique_id, name, payload], nested)
        if shape == "binary":
            return Frame(text.encode(), unique_id, shape)
        if shape == "cut":
            cut = draw(st.integers(0, len(text) - 1))
            id_readable = cut >= len(json.dumps([2, unique_id])) - 1  # the prefix [2, "id" arrived whole
            return Frame(text[:cut], unique_id if id_readable else "-1", shape)
        return Frame(text, unique_id, shape)
    if shape == "message type":
        kind = draw(st.sampled_from([0, 1, 5, 7, 99, -1, "2", 2.0, True, None]))
        return Frame(json.dumps([kind, unique_id, name, payload]), unique_id, shape)
    if shape == "reply":
        reply = draw(st.sampled_from([[3, unique_id, payload], [4, unique_id, "GenericError", "", payload],
                                      [3, unique_id]]))
        return Frame(to_text(reply, nested), None, shape)
    if shape == "short":
        return Frame(json.dumps([2, unique_id, name]), unique_id, shape)
    if shape == "long":
        return Frame(json.dumps([2, unique_id, name, payload, payload]), unique_id, shape)
    if shape == "id type":
        not_a_string = draw(json_values.filter(lambda value: not isinstance(value, str)))
        return Frame(json.dumps([2, not_a_string, name, payload]), "-1", shape)
    return Frame(draw(st.sampled_from([b"\xff\xfe[2,", "#not json", "[]", "{}", '"[2, \\"x\\""', "2"])), "-1", shape)


@dataclass
class Outcome:
    """What the CSMS saw: answers by id, against what each CALL was owed."""

    expected: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    malformed_replies: list[Any] = field(default_factory=list)
    log_lines: list[logging.LogRecord] = field(default_factory=list)
    loop_errors: list[dict[str, Any]] = field(default_factory=list)
    stayed_connected: bool = False

    @property
    def unanswered(self) -> int:
        """Frames owed an answer that got none at all (missing counts answers with the wrong id too)."""
        return max(0, sum(self.expected.values()) - sum(self.answered.values()))

    @property
    def missing(self) -> int:
        return sum((self.expected - self.answered).values())

    @property
    def extra(self) -> int:
        return sum((self.answered - self.expected).values())


class Lines(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.INFO)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def well_formed(reply: Any) -> bool:
    if not isinstance(reply, list) or len(reply) < 3 or not isinstance(reply[1], str):
        return False
    if reply[0] == 3:
        return len(reply) == 3 and isinstance(reply[2], dict)
    return (reply[0] == 4 and len(reply) == 5 and reply[2] in CALLERROR_CODES and isinstance(reply[3], str)
            and isinstance(reply[4], dict))


async def collect_until(peer: Peer, probe: str, outcome: Outcome) -> None:
    """Sends a CALL the link always answers, and counts every answer up to the probe's."""
    await peer.send([2, probe, "GetLocalListVersion", {}])
    while True:
        reply = await peer.next()
        if not well_formed(reply):
            outcome.malformed_replies.append(reply)
        elif reply[1] == probe:
            return
        else:
            outcome.answered[reply[1]] += 1


@asynccontextmanager
async def serving_link(message_log: MessageLog | None, outcome: Outcome) -> AsyncIterator[Peer]:
    """A connected link with a handler for every CSMS->CP action, seen from the CSMS; the link's log lines and
    the loop's errors go to outcome, and at the end whether the first connection is still the only one."""
    lines = Lines(outcome.log_lines)
    link_logger = logging.getLogger("module.link")
    level = link_logger.level
    link_logger.addHandler(lines)
    link_logger.setLevel(logging.INFO)  # what a verbose deployment shows
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: outcome.loop_errors.append(context))
    try:
        async with Csms() as csms:
            link = OcppLink(LinkSettings(csms.uri(), "CP1"), message_log=message_log)
            for action, response in RESPONSES.items():
                link.register_handler(action, lambda payload, response=response: response)
            await link.start()
            peer = await csms.peer()
            await link.wait_connected()
            yield peer
            outcome.stayed_connected = link.connected and csms.peers.empty()
            await link.stop()
    finally:
        link_logger.removeHandler(lines)
        link_logger.setLevel(level)


async def throw(sent: list[Frame], message_log: MessageLog | None) -> Outcome:
    """Sends the frames, then two probes: the first is answered after every refusal (those are sent in order),
    the second after every handler answer spawned before it."""
    outcome = Outcome(expected=Counter(frame.answer_id for frame in sent if frame.answer_id is not None))
    async with serving_link(message_log, outcome) as peer:
        for frame in sent:
            await peer.ws.send(frame.data)
        for probe in PROBES:
            await collect_until(peer, probe, outcome)
    return outcome


def run(sent: list[Frame], html_log: bool) -> Outcome:
    if not html_log:
        return asyncio.run(throw(sent, None))
    with tempfile.TemporaryDirectory() as folder:
        log = MessageLog(folder)
        outcome = asyncio.run(throw(sent, log))
        assert log.failures == 0
        return outcome


@pytest.mark.parametrize("html_log", [False, True], ids=["no message log", "message log"])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sent=st.lists(frames(), min_size=1, max_size=FRAMES_PER_EXAMPLE))
def test_every_call_is_answered_with_its_id(html_log: bool, sent: list[Frame]) -> None:
    outcome = run(sent, html_log)
    assert outcome.missing == 0 and outcome.extra == 0, (outcome.expected, outcome.answered)
    assert outcome.malformed_replies == [] and outcome.loop_errors == []
    assert outcome.stayed_connected
    assert len(outcome.log_lines) <= LOG_LINES_PER_EXAMPLE
    assert not any(record.exc_info or "\n" in record.getMessage() for record in outcome.log_lines)
