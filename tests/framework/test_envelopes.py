"""Each topic and envelope compared, as JSON, with the examples of the wire spec (sections 2, 3 and 10)."""

from __future__ import annotations

import json

import pytest

from framework import envelopes as env
from framework.envelopes import ErrorEvent, MsgType
from framework.topics import Topics, external, normalize_prefix

T = Topics()
CALL_ID = "3f0c…"  # the id as the spec writes it


def wire(message: dict) -> object:
    """What goes on the wire, parsed back: key order and spacing do not matter, content does."""
    return json.loads(env.encode(message))


def test_command_call() -> None:
    args = {"connector_id": 1, "cmd_source": {"enable_source": "CSMS", "enable_state": "Enable",
                                              "enable_priority": 5000}}
    assert T.cmd("evse", "evse", "enable_disable") == "everest/modules/evse/impl/evse/cmd/enable_disable"
    assert wire(env.cmd_call(CALL_ID, args, "ocpp")) == json.loads(
        '{"msg_type":"Cmd","data":{"id":"3f0c…","args":{"connector_id":1,"cmd_source":{"enable_source":"CSMS",'
        '"enable_state":"Enable","enable_priority":5000}},"origin":"ocpp"}}')


def test_command_result_and_void_result() -> None:
    assert T.cmd_response("evse", "evse", "enable_disable", "ocpp") == \
        "everest/modules/evse/impl/evse/cmd/enable_disable/response/ocpp"
    assert wire(env.cmd_result(CALL_ID, "evse", True)) == json.loads(
        '{"msg_type":"CmdResult","data":{"type":"result","data":{"id":"3f0c…","retval":true,"origin":"evse"}}}')
    assert wire(env.cmd_result(CALL_ID, "evse", None))["data"]["data"]["retval"] is None


def test_command_error_result() -> None:
    assert wire(env.cmd_error(CALL_ID, "evse", "HandlerException", "boom")) == json.loads(
        '{"msg_type":"CmdResult","data":{"type":"result","data":{"id":"3f0c…","origin":"evse",'
        '"error":{"__everest__error_type":"HandlerException","__everest__error_msg":"boom"}}}}')
    with_retval = wire(env.cmd_error(CALL_ID, "evse", "SchemaValidationError", "bad", retval=3))
    assert with_retval["data"]["data"]["retval"] == 3


def test_var() -> None:
    value = {"event": "SessionStarted", "uuid": "u1", "timestamp": "2025-12-01T16:48:10.123Z"}
    assert T.var("evse", "evse", "session_event") == "everest/modules/evse/impl/evse/var/session_event"
    assert wire(env.var(value)) == {"msg_type": "Var", "data": {"data": value}}
    assert wire(env.var(None)) == {"msg_type": "Var", "data": {"data": None}}


def test_error_raise_and_clear() -> None:
    event = ErrorEvent(type="evse_board_support/DiodeFault", sub_type="", message="diode check failed",
                       description="<from errors/*.yaml>", severity="High", origin_module="yeti",
                       origin_impl="board_support", mapping={"evse": 1, "connector": 1}, vendor_id="everest",
                       timestamp="2025-12-01T16:48:10.123Z", uuid="<uuid>")
    assert T.error("yeti", "board_support", event.type) == \
        "everest/modules/yeti/impl/board_support/error/evse_board_support/DiodeFault"
    spec = json.loads(
        '{"msg_type":"RaiseError","data":{"type":"evse_board_support/DiodeFault","sub_type":"",'
        '"message":"diode check failed","description":"<from errors/*.yaml>","origin":{"module_id":"yeti",'
        '"implementation_id":"board_support","mapping":{"evse":1,"connector":1}},"vendor_id":"everest",'
        '"severity":"High","state":"Active","timestamp":"2025-12-01T16:48:10.123Z","uuid":"<uuid>"}}')
    assert wire(env.raise_error(event)) == spec
    event.state = "ClearedByModule"
    cleared = wire(env.clear_error(event))
    assert cleared["msg_type"] == "ClearError"
    assert cleared["data"] == {**spec["data"], "state": "ClearedByModule"}
    assert ErrorEvent.from_wire(spec["data"]).mapping == {"evse": 1, "connector": 1}


def test_error_without_mapping_has_no_mapping_key_and_a_millisecond_timestamp() -> None:
    data = ErrorEvent(type="a/B", origin_module="m", origin_impl="i").to_wire()
    assert data["origin"] == {"module_id": "m", "implementation_id": "i"}
    assert len(data["timestamp"]) == len("2025-12-01T16:48:10.123Z") and data["timestamp"].endswith("Z")


def test_ready_messages() -> None:
    assert T.module_ready("evse") == "everest/modules/evse/ready"
    assert T.global_ready() == "everest/ready"
    assert wire(env.module_ready()) == {"msg_type": "ModuleReady", "data": True}
    assert wire(env.global_ready()) == {"msg_type": "GlobalReady", "data": True}


def test_config_request_and_response() -> None:
    assert T.config_request() == "everest/config/request"
    assert T.config_response("evse") == "everest/modules/evse/response"
    assert wire(env.get_config_request("evse")) == json.loads(
        '{"msg_type":"GetConfig","data":{"type":"Get","origin":"evse","request":{"type":"Module"}}}')
    module_config = {"module_config": {"module_id": "evse"}, "mappings": {"evse": None}}
    assert wire(env.module_config_response(module_config)) == {
        "msg_type": "GetConfigResponse",
        "data": {"status": "Ok", "status_info": "", "type": "Get",
                 "response": {"type": "Module", "data": module_config}}}


def test_retained_definitions_and_metadata() -> None:
    assert [T.interfaces(), T.interface_definition("probe"), T.types(), T.type_definition("/evse_manager"),
            T.settings(), T.schemas(), T.module_names(), T.manifest("PyProbe")] == [
        "everest/interfaces", "everest/interface_definitions/probe", "everest/types",
        "everest/type_definitions/evse_manager", "everest/settings", "everest/schemas", "everest/module_names",
        "everest/manifests/PyProbe"]
    assert wire(env.definition(["probe"])) == {"data": ["probe"], "msg_type": "GetConfigResponse"}
    assert T.metadata("probe") == "everest/modules/probe/metadata"
    assert wire(env.metadata("PyProbe", {"main": "probe"})) == json.loads(
        '{"msg_type":"GetConfigResponse","data":{"module":"PyProbe","provides":{"main":{"interface":"probe"}}}}')


def test_wildcards_prefixes_and_external_topics() -> None:
    assert T.global_errors() == "everest/modules/+/impl/+/error/#"
    assert T.impl_errors("evse", "evse") == "everest/modules/evse/impl/evse/error/#"
    assert normalize_prefix("site1") == "site1/" and normalize_prefix(None) == "everest/"
    assert Topics.for_prefix("x").cmd("a", "b", "c") == "x/modules/a/impl/b/cmd/c"
    assert external("", "everest_api/ocpp/cmd/connect") == "everest_api/ocpp/cmd/connect"
    assert external("ext/", "a/b") == "ext/a/b"
    assert T.is_framework("everest/ready") and not T.is_framework("ext/a")


def test_encoding_is_compact_sorted_json() -> None:
    assert env.encode(env.global_ready()) == b'{"data":true,"msg_type":"GlobalReady"}'


@pytest.mark.parametrize("msg_type", [m.value for m in MsgType])
def test_decode_accepts_every_known_msg_type(msg_type: str) -> None:
    decoded = env.decode(json.dumps({"msg_type": msg_type, "data": 1}).encode())
    assert decoded == env.Envelope(MsgType(msg_type), 1)


@pytest.mark.parametrize("payload, reason", [(b"{not json", "broken JSON"),
                                             (b'{"msg_type":"Bogus","data":1}', "unknown msg_type 'Bogus'"),
                                             (b"\xff\xfe", "broken JSON")])
def test_decode_refuses_broken_json_and_unknown_msg_type(payload: bytes, reason: str) -> None:
    with pytest.raises(env.EnvelopeError, match=reason):
        env.decode(payload)


def test_missing_msg_type_means_external_mqtt() -> None:
    assert env.decode(b'{"a":1}') == env.Envelope(MsgType.EXTERNAL_MQTT, {"a": 1})
