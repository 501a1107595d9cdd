"""The sim modules as real processes under the manager, driven by a standalone test module with schema checks on."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from framework.broker import PrivateBroker
from framework.module import Module

REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0
VALID = "RFID_VALID1"

TESTER_MANIFEST = """
description: Test module standing in for the OCPP module
provides:
  validator: {interface: auth_token_validator, description: accepts RFID_VALID1 only}
requires:
  evse_manager: {interface: evse_manager}
  auth: {interface: auth}
  reservation: {interface: reservation}
  system: {interface: system}
  security: {interface: evse_security}
  sink: {interface: external_energy_limits}
  evse_limits: {interface: external_energy_limits}
  display: {interface: display_message}
  info: {interface: charger_information}
enable_external_mqtt: true
metadata: {license: https://opensource.org/licenses/Apache-2.0, authors: [tests]}
"""


def run_config(broker: PrivateBroker, tmp: Path) -> str:
    def conn(module_id: str, impl: str) -> list[dict]:
        return [{"module_id": module_id, "implementation_id": impl}]

    config = {
        "settings": {"mqtt_broker_host": broker.host, "mqtt_broker_port": broker.port, "validate_schema": True},
        "active_modules": {
            "evse_manager_1": {"module": "EvseManager", "mapping": {"module": {"evse": 1}},
                               "config_module": {"powermeter_interval_s": 0.1,
                                                 "powermeter_public_key_ocmf": "METER-KEY-1"}},
            "token_provider": {"module": "DummyTokenProvider"},
            "auth": {"module": "Auth", "config_module": {"connection_timeout": 10},
                     "connections": {"token_provider": conn("token_provider", "main"),
                                     "token_validator": conn("tester", "validator"),
                                     "evse_manager": conn("evse_manager_1", "evse")}},
            "system": {"module": "System", "config_module": {"state_file": str(tmp / "system.json"),
                                                             "transfer_timeout_s": 2}},
            "evse_security": {"module": "EvseSecurity", "config_module": {"certs_dir": str(tmp / "certs")}},
            "sink": {"module": "EnergySink", "config_module": {"record_file": str(tmp / "limits.jsonl")}},
            "display": {"module": "DisplayMessage"},
            "info": {"module": "ChargerInformation", "config_module": {"vendor": "TestVendor"}},
            "tester": {"module": "SimTester", "standalone": True, "connections": {
                "evse_manager": conn("evse_manager_1", "evse"), "auth": conn("auth", "main"),
                "reservation": conn("auth", "reservation"), "system": conn("system", "main"),
                "security": conn("evse_security", "main"), "sink": conn("sink", "external_limits"),
                "evse_limits": conn("evse_manager_1", "external_limits"),
                "display": conn("display", "main"), "info": conn("info", "main")}},
        },
    }
    return json.dumps(config)  # JSON is YAML


@dataclass
class SimDriver:
    mod: Module
    vars: dict[str, asyncio.Queue] = field(default_factory=dict)
    validated: list[dict] = field(default_factory=list)

    def watch(self, requirement: str, var: str) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        self.vars[var] = queue
        self.mod.requirement(requirement).subscribe(var, queue.put_nowait)

    async def until(self, var: str, predicate: Callable[[Any], bool], seen: list | None = None) -> Any:
        """Values of `var` up to the first matching one (collected into `seen`)."""
        async with asyncio.timeout(WAIT):
            while True:
                value = await self.vars[var].get()
                if seen is not None:
                    seen.append(value)
                if predicate(value):
                    return value

    async def event(self, name: str, seen: list | None = None) -> dict:
        return await self.until("session_event", lambda e: e["event"] == name, seen)

    async def call(self, requirement: str, cmd: str, args: dict | None = None) -> Any:
        return await self.mod.requirement(requirement).call(cmd, args or {}, timeout=WAIT)

    async def car(self, command: str, script: str) -> None:
        await self.mod.publish_external(f"everest_external/nodered/1/carsim/cmd/{command}", script)

    async def swipe(self, value: str, authorization_type: str = "RFID") -> None:
        token = {"id_token": {"value": value, "type": "ISO14443"}, "authorization_type": authorization_type}
        await self.mod.publish_external("everest_api/dummy_token_provider/cmd/provide", json.dumps(token))


@pytest.fixture
async def tester(broker: PrivateBroker, tmp_path: Path) -> AsyncIterator[SimDriver]:
    (tmp_path / "modules" / "SimTester").mkdir(parents=True)
    (tmp_path / "modules" / "SimTester" / "manifest.yaml").write_text(TESTER_MANIFEST)
    (tmp_path / "run.yaml").write_text(run_config(broker, tmp_path))
    manager = subprocess.Popen(
        [sys.executable, "-m", "framework.manager", "--config", str(tmp_path / "run.yaml"),
         "--modules-dir", str(tmp_path / "modules"), "--standalone", "tester"],
        cwd=REPO, start_new_session=True)
    mod = await Module.connect("tester", host=broker.host, port=broker.port)
    t = SimDriver(mod)

    def validate_token(args: dict) -> dict:
        t.validated.append(args["provided_token"])
        value = args["provided_token"]["id_token"]["value"]
        accepted = value == VALID or value.startswith("GROUP")
        result: dict = {"authorization_status": "Accepted" if accepted else "Invalid", "tariff_messages": []}
        if value == "GROUP-B":  # GROUP-A's group is learnt later, as from a StartTransaction answer
            result["parent_id_token"] = {"value": "PARENT1", "type": "Central"}
        return result

    mod.implement("validator", "validate_token", validate_token)
    for requirement, var in (("evse_manager", "session_event"), ("evse_manager", "powermeter"),
                             ("evse_manager", "powermeter_public_key_ocmf"),
                             ("evse_manager", "enforced_limits"),
                             ("auth", "token_validation_status"), ("system", "firmware_update_status"),
                             ("system", "log_status"), ("reservation", "reservation_update")):
        t.watch(requirement, var)
    t.vars["errors"] = asyncio.Queue()
    mod.requirement("evse_manager").subscribe_errors(t.vars["errors"].put_nowait, lambda _event: None)
    await mod.signal_ready()
    async with asyncio.timeout(WAIT):
        await mod.global_ready.wait()
    await t.event("Enabled")
    yield t
    await mod.close()
    os.killpg(manager.pid, signal.SIGTERM)
    manager.wait(timeout=WAIT)


def energy(reading: dict) -> float:
    return reading["energy_Wh_import"]["total"]


async def test_car_script_session_publishes_everest_event_order_and_growing_energy(tester: SimDriver) -> None:
    assert await tester.until("powermeter_public_key_ocmf", lambda key: True) == "METER-KEY-1"
    assert await tester.call("evse_manager", "get_evse") == {"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}
    await tester.car("execute_charging_session", "sleep 0.1;iec_wait_pwr_ready;draw_power_regulated 16,3;sleep 600")
    seen: list[dict] = []
    await tester.event("AuthRequired", seen)
    await tester.swipe(VALID)
    started = await tester.event("TransactionStarted", seen)
    assert started["transaction_started"]["id_tag"]["id_token"]["value"] == VALID
    # no charging before the external ready signal, as with EVerest's external_ready_to_start_charging
    assert await tester.call("evse_manager", "external_ready_to_start_charging") is True
    await tester.event("ChargingStarted", seen)
    first = energy(await tester.until("powermeter", lambda r: r["power_W"]["total"] > 0))
    later = await tester.until("powermeter", lambda r: energy(r) > first + 1.0)
    assert later["current_A"]["L1"] == 16 and later["frequency_Hz"]["L1"] == 50
    assert await tester.call("evse_manager", "pause_charging") is True
    paused = await tester.event("ChargingPausedEVSE", seen)
    assert paused["charging_paused_evse"] == {"reasons": ["UserPause"]}
    assert await tester.call("evse_manager", "resume_charging") is True
    await tester.event("ChargingStarted", seen)
    await tester.car("modify_charging_session", "pause")
    await tester.event("ChargingPausedEV", seen)
    await tester.car("modify_charging_session", "resume")
    await tester.event("ChargingStarted", seen)
    await tester.car("modify_charging_session", "unplug")
    finished = await tester.event("TransactionFinished", seen)
    await tester.event("SessionFinished", seen)

    assert [e["event"] for e in seen] == [
        "SessionStarted", "AuthRequired", "Authorized", "TransactionStarted", "PrepareCharging", "ChargingStarted",
        "ChargingPausedEVSE", "ChargingStarted", "ChargingPausedEV", "ChargingStarted", "ChargingFinished",
        "TransactionFinished", "SessionFinished"]
    assert len({e["uuid"] for e in seen}) == 1
    assert seen[0]["session_started"]["reason"] == "EVConnected"
    assert finished["transaction_finished"]["reason"] == "EVDisconnected"
    assert energy(finished["transaction_finished"]["meter_value"]) >= energy(later) > \
        energy(started["transaction_started"]["meter_value"])


async def test_auth_routes_tokens_through_the_validator_and_the_same_token_stops(tester: SimDriver) -> None:
    await tester.swipe("RFID_INVALID")
    rejected = await tester.until("token_validation_status", lambda s: s["status"] != "Processing")
    assert rejected["status"] == "Rejected" and tester.validated[-1]["id_token"]["value"] == "RFID_INVALID"

    await tester.swipe(VALID)  # authorization first: the session starts with reason Authorized
    assert (await tester.until("token_validation_status", lambda s: s["status"] != "Processing"))["status"] \
        == "Accepted"
    session = await tester.event("SessionStarted")
    assert session["session_started"]["reason"] == "Authorized"
    await tester.event("Authorized")
    await tester.car("execute_charging_session", "iec_wait_pwr_ready;draw_power_regulated 32,3;sleep 600")
    await tester.event("TransactionStarted")

    await tester.swipe(VALID, authorization_type="OCPP")  # a second remote start of that idTag stops nothing
    again = await tester.until("token_validation_status", lambda s: s["status"] not in ("Processing",))
    assert again["status"] == "Rejected"  # the only EVSE is busy
    await tester.swipe(VALID)
    stop = await tester.until("token_validation_status", lambda s: s["status"] not in ("Processing",))
    assert stop["status"] == "UsedToStop"
    finished = await tester.event("TransactionFinished")
    assert finished["transaction_finished"]["reason"] == "Local"
    assert finished["transaction_finished"]["id_tag"]["id_token"]["value"] == VALID
    assert await tester.call("evse_manager", "stop_transaction", {"request": {"reason": "Remote"}}) is False


async def test_a_diode_fault_of_the_car_script_makes_the_evse_inoperative(tester: SimDriver) -> None:
    """The car simulator's diode_fail, as EVerest's reservation tests use it: energy stops, the EVSE raises
    evse_manager/Inoperative (which the OCPP module reports as Faulted)."""
    await tester.car("execute_charging_session", "plugin;diode_fail")
    error = await tester.until("errors", lambda event: True)
    assert (error.type, error.message) == ("evse_manager/Inoperative", "control pilot diode fault")


async def test_a_hardware_error_on_carsim_error_makes_the_evse_inoperative_until_cleared(tester: SimDriver) -> None:
    cleared: asyncio.Queue = asyncio.Queue()
    tester.mod.requirement("evse_manager").subscribe_errors(lambda _event: None, cleared.put_nowait)
    topic = "everest_external/nodered/1/carsim/error"
    await tester.mod.publish_external(topic, json.dumps({"error_type": "MREC6UnderVoltage", "raise": "true"}))
    error = await tester.until("errors", lambda event: True)
    assert (error.type, error.message) == ("evse_manager/Inoperative", "MREC6UnderVoltage")
    await tester.mod.publish_external(topic, json.dumps({"error_type": "MREC6UnderVoltage", "raise": "false"}))
    assert (await asyncio.wait_for(cleared.get(), WAIT)).type == "evse_manager/Inoperative"


@pytest.mark.parametrize("update_first", [False, True])
async def test_auth_learns_a_transactions_group_from_validate_result_update(tester: SimDriver,
                                                                           update_first: bool) -> None:
    """The token that started the transaction had no parent; the validator's update names one (as the OCPP module
    does when StartTransaction.conf carries a parentIdTag), and a card of that group then stops it. The update and
    the EVSE's TransactionStarted travel on different topics: either may reach Auth first."""
    update = {"connector_id": 1, "validation_result": {"authorization_status": "Accepted", "tariff_messages": [],
                                                       "parent_id_token": {"value": "PARENT1", "type": "Central"}}}
    await tester.swipe("GROUP-A")
    await tester.event("Authorized")
    if update_first:
        await tester.mod.publish("validator", "validate_result_update", update)
    await tester.car("execute_charging_session", "iec_wait_pwr_ready;draw_power_regulated 32,3;sleep 600")
    await tester.event("TransactionStarted")
    if not update_first:
        await tester.mod.publish("validator", "validate_result_update", update)
    await tester.swipe("GROUP-B")
    stop = await tester.until("token_validation_status", lambda s: s["token"]["id_token"]["value"] == "GROUP-B"
                              and s["status"] != "Processing")
    assert stop["status"] == "UsedToStop"
    finished = await tester.event("TransactionFinished")
    assert finished["transaction_finished"]["reason"] == "Local"


async def test_every_sim_module_answers_its_commands_within_the_schemas(tester: SimDriver, tmp_path: Path) -> None:
    call = tester.call
    assert await call("system", "get_boot_reason") == "PowerUp"
    assert await call("system", "is_reset_allowed", {"type": "Soft"}) is True
    await call("system", "reset", {"type": "Hard", "scheduled": False})
    assert json.loads((tmp_path / "system.json").read_text())["next_boot_reason"] == "RemoteReset"
    assert await call("system", "set_system_time", {"timestamp": "2030-01-01T00:00:00Z"}) is True
    request = {"location": "ftp://127.0.0.1:1/fw.bin", "request_id": 7}  # nothing listens on port 1
    assert await call("system", "update_firmware", {"firmware_update_request": request}) == "Accepted"
    statuses: list[dict] = []
    await tester.until("firmware_update_status", lambda s: s["firmware_update_status"] == "DownloadFailed",
                       statuses)
    assert statuses == [{"firmware_update_status": "Downloading", "request_id": 7},
                        {"firmware_update_status": "DownloadFailed", "request_id": 7}]
    upload = await call("system", "upload_logs", {"upload_logs_request": {"location": "http://127.0.0.1:1/",
                                                                          "request_id": 3}})
    assert upload["upload_logs_status"] == "Accepted" and upload["file_name"].endswith(".tar.gz")
    logs: list[dict] = []
    await tester.until("log_status", lambda s: s["log_status"] == "UploadFailure", logs)
    assert [s["log_status"] for s in logs] == ["Uploading", "UploadFailure"]

    verify = await call("security", "get_verify_file", {"certificate_type": "CSMS"})
    assert Path(verify).is_file() and await call("security", "is_ca_certificate_installed",
                                                 {"certificate_type": "CSMS"}) is True
    leaf = await call("security", "get_leaf_certificate_info",
                      {"certificate_type": "CSMS", "encoding": "PEM", "include_ocsp": False})
    assert leaf["status"] == "Accepted" and Path(leaf["info"]["key"]).is_file()
    assert (await call("security", "get_leaf_certificate_info",
                       {"certificate_type": "V2G", "encoding": "PEM", "include_ocsp": False}))["status"] == "NotFound"
    installed = await call("security", "get_installed_certificates", {"certificate_types": ["CSMSRootCertificate"]})
    assert installed["status"] == "Accepted" and len(installed["certificate_hash_data_chain"]) == 1
    chain = Path(leaf["info"]["certificate"]).read_text()
    assert await call("security", "verify_certificate",
                      {"certificate_chain": chain, "certificate_types": ["CSMS"]}) == "Valid"
    assert await call("security", "install_ca_certificate",
                      {"certificate": "garbage", "certificate_type": "MO"}) == "InvalidFormat"
    assert await call("security", "get_leaf_expiry_days_count", {"certificate_type": "CSMS"}) > 300

    limits = {"schedule_import": [{"timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                                   "limits_to_root": {}, "limits_to_leaves": {
                                       "ac_max_current_A": {"value": 10.0, "source": "test"}}}],
              "schedule_export": [], "schedule_setpoints": []}
    await call("sink", "set_external_limits", {"value": limits})
    assert json.loads((tmp_path / "limits.jsonl").read_text().splitlines()[0]) == limits
    await call("evse_limits", "set_external_limits", {"value": limits})
    offered = await tester.until("enforced_limits", lambda v: v["limits_root_side"]["ac_max_current_A"]["value"] == 10)
    assert offered["limits_root_side"]["ac_max_current_A"]["source"] == "evse_manager_1/external_limits"

    message = {"id": 4, "message": {"content": "Hello", "format": "UTF8"}}
    assert (await call("display", "set_display_message", {"request": [message]}))["status"] == "Accepted"
    assert (await call("display", "get_display_messages", {"request": {"id": [4]}}))["messages"] == [message]
    assert (await call("display", "clear_display_message", {"request": {"id": 4}}))["status"] == "Accepted"
    assert (await call("display", "clear_display_message", {"request": {"id": 4}}))["status"] == "Unknown"
    assert (await call("info", "get_charger_information"))["vendor"] == "TestVendor"

    expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    reservation = {"reservation_id": 5, "id_token": VALID, "expiry_time": expiry, "evse_id": 1}
    assert await call("reservation", "reserve_now", {"request": reservation}) == "Accepted"
    await tester.event("ReservationStart")
    assert await call("reservation", "exists_reservation", {"request": {"id_token": VALID, "evse_id": 1}}) \
        == "ReservedForToken"
    assert await call("reservation", "exists_reservation", {"request": {"id_token": "OTHER", "evse_id": 1}}) \
        == "ReservedForOtherToken"
    assert await call("reservation", "exists_reservation", {"request": {"id_token": "OTHER"}}) == "NotReserved"
    assert await call("reservation", "cancel_reservation", {"reservation_id": 5}) is True
    await tester.event("ReservationEnd")
    assert await call("reservation", "cancel_reservation", {"reservation_id": 5}) is False
    anywhere = {"reservation_id": 6, "id_token": VALID, "expiry_time": expiry}
    assert await call("reservation", "reserve_now", {"request": anywhere}) == "Accepted"
    await tester.event("ReservationStart")  # the only EVSE is held for a reservation of any EVSE
    assert await call("reservation", "cancel_reservation", {"reservation_id": 6}) is True
    await tester.event("ReservationEnd")
    await call("auth", "set_connection_timeout", {"connection_timeout": 20})
    assert await call("auth", "withdraw_authorization", {"request": {}}) == "AuthorizationNotFound"

    disable = {"enable_source": "CSMS", "enable_state": "Disable", "enable_priority": 5000}
    assert await call("evse_manager", "enable_disable", {"connector_id": 1, "cmd_source": disable}) is False
    assert (await tester.event("Disabled"))["source"] == disable
    assert await call("evse_manager", "enable_disable",
                      {"connector_id": 1, "cmd_source": {**disable, "enable_state": "Enable"}}) is True
    await tester.event("Enabled")
    assert await call("evse_manager", "force_unlock", {"connector_id": 1}) is True
    assert await call("evse_manager", "update_allowed_energy_transfer_modes",
                      {"allowed_energy_transfer_modes": ["AC_three_phase_core"]}) == "NoHlc"
    await call("evse_manager", "set_plug_and_charge_configuration",
               {"plug_and_charge_configuration": {"pnc_enabled": False}})
