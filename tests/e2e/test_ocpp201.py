"""The OCPP201 module end to end: launched by the manager from a run config that holds the 1.6 module too (as a
charger maker may run both against two CSMSs), each booting at its own local CSMS; the 2.0.1 one answers
GetVariables and a FullInventory base report from its component config files, and reports its EVSEs' connector
statuses as the simulated car plugs in and the CSMS changes an EVSE's availability, and the transaction of a
session started with a card."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import yaml
from paho.mqtt import publish

from framework.broker import PrivateBroker
from module.v201.impl.ocpp201_module import EXTERNAL_DISCONNECT
from sim.csms import LocalCsms
from sim.csms.records import CONNECTED, DISCONNECTED
from sim.ctl import DEFAULT_PLUG_SCRIPT, TOKEN_TOPIC, carsim_topic, token_message
from sim.demo.state_folder import REPO, StateFolder

BOOT_TIMEOUT_S = 60.0


def station_files(folder: Path, csms: LocalCsms) -> Path:
    """Component config files of a charger maker: the station's identity and its CSMS, in custom/."""
    profiles = [{"configurationSlot": 1, "connectionData": {
        "ocppCsmsUrl": f"ws://{csms.host}:{csms.port}", "ocppInterface": "Wired0", "ocppTransport": "JSON",
        "ocppVersion": "OCPP20", "securityProfile": 0}}]
    (folder / "custom").mkdir(parents=True)
    (folder / "custom" / "TxCtrlr.json").write_text(json.dumps({"name": "TxCtrlr", "properties": {
        "EVConnectionTimeOut": {"variable_name": "EVConnectionTimeOut",
                                "attributes": [{"type": "Actual", "value": "45"}]}}}))
    (folder / "custom" / "InternalCtrlr.json").write_text(json.dumps({"name": "InternalCtrlr", "properties": {
        "ChargePointId": {"variable_name": "ChargePointId", "attributes": [{"type": "Actual", "value": "cs201"}]},
        "NetworkConnectionProfiles": {"variable_name": "NetworkConnectionProfiles",
                                      "attributes": [{"type": "Actual", "value": json.dumps(profiles)}]}}}))
    return folder


def run_config(state: StateFolder, broker: PrivateBroker, csms201: LocalCsms, folder: Path) -> Path:
    path = state.write_run_config(broker.host, broker.port)
    config = yaml.safe_load(path.read_text())
    config["active_modules"]["ocpp201"] = {
        "module": "OCPP201",
        "config_module": {"CoreDatabasePath": str(folder / "db201"), "MessageLogPath": str(folder / "logs201"),
                          "DeviceModelConfigPath": str(station_files(folder / "component_config", csms201))},
        "connections": {
            "evse_manager": [{"module_id": f"evse_manager_{n}", "implementation_id": "evse"} for n in (1, 2)],
            "system": [{"module_id": "system", "implementation_id": "main"}],
            "security": [{"module_id": "evse_security", "implementation_id": "main"}],
            "auth": [{"module_id": "auth", "implementation_id": "main"}]}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def test_ocpp16_and_ocpp201_modules_in_one_run_config(tmp_path: Path, broker: PrivateBroker) -> None:
    async with LocalCsms(call_timeout=10) as csms16, LocalCsms(call_timeout=10, ocpp_version="2.0.1") as csms201:
        state = StateFolder.at(tmp_path, None)
        state.write_user_config(csms16.url)
        config = run_config(state, broker, csms201, tmp_path)
        with (tmp_path / "manager.log").open("ab") as log:
            manager = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "framework.manager", "--config", str(config), cwd=REPO, stdout=log,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            boot201 = await csms201.wait_for("BootNotification", timeout=BOOT_TIMEOUT_S)
            await csms16.wait_for("BootNotification", timeout=BOOT_TIMEOUT_S)
            assert boot201["reason"] == "PowerUp" and boot201["chargingStation"]["vendorName"] == "SimVendor"
            connected = await csms201.wait_for_record(lambda r: r.kind == CONNECTED)
            assert connected.payload["path"].endswith("/cs201") and connected.payload["subprotocol"] == "ocpp2.0.1"
            await csms201.wait_for("BootNotification", direction="out", kind="CALLRESULT")

            answer = await csms201.call("cs201", "GetVariables", {"getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
            assert answer["getVariableResult"][0]["attributeValue"] == "300"
            assert await csms201.call("cs201", "GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"}) == {
                "status": "Accepted"}
            last = await csms201.wait_for("NotifyReport", lambda p: not p["tbc"])
            assert last["requestId"] == 1
            reported = [d for p in csms201.payloads("NotifyReport") for d in p["reportData"]]
            assert {d["component"]["evse"]["id"] for d in reported if d["component"]["name"] == "EVSE"} == {1, 2}
            for evse_id in (1, 2):  # block G: each EVSE's connector, then a change of its status and availability
                await csms201.wait_for("StatusNotification", lambda p, e=evse_id: p["evseId"] == e
                                       and p["connectorStatus"] == "Available")
            publish.single(carsim_topic(1, "execute_charging_session"), DEFAULT_PLUG_SCRIPT + ";sleep 600",
                           hostname=broker.host, port=broker.port, qos=1)
            await csms201.wait_for("StatusNotification", lambda p: p["evseId"] == 1
                                   and p["connectorStatus"] == "Occupied")
            publish.single(TOKEN_TOPIC, json.dumps(token_message("CARD201", 1, "ISO14443", "RFID")),
                           hostname=broker.host, port=broker.port, qos=1)  # block E: the session's transaction
            started = await csms201.wait_for("TransactionEvent", lambda p: p["eventType"] == "Started")
            assert started["idToken"]["idToken"] == "CARD201" and started["evse"]["id"] == 1
            await csms201.wait_for("TransactionEvent", lambda p: p.get("transactionInfo", {}).get(
                "chargingState") == "Charging")
            assert await csms201.call("cs201", "ChangeAvailability", {
                "operationalStatus": "Inoperative", "evse": {"id": 2}}) == {"status": "Accepted"}
            await csms201.wait_for("StatusNotification", lambda p: p["evseId"] == 2
                                   and p["connectorStatus"] == "Unavailable")
            for raised, status in ((True, "Faulted"), (False, "Unavailable")):  # a hardware fault of EVSE 2
                mark = csms201.mark()
                publish.single("everest_external/nodered/2/carsim/error", json.dumps(
                    {"error_type": "MREC6UnderVoltage", "raise": str(raised).lower()}), hostname=broker.host,
                    port=broker.port, qos=1)
                await csms201.wait_for("StatusNotification", lambda p, s=status: p["evseId"] == 2
                                       and p["connectorStatus"] == s, after_index=mark)
            keys = await csms16.get_configuration(["HeartbeatInterval"])
            assert keys["configurationKey"][0]["key"] == "HeartbeatInterval"  # the 1.6 module beside it
        finally:
            if manager.returncode is None:
                manager.send_signal(signal.SIGTERM)
            await asyncio.wait_for(manager.wait(), 30)
        log_text = (tmp_path / "manager.log").read_text()
        assert "Traceback" not in log_text, log_text[-3000:]
        assert "connection timeout now 45 s" in log_text  # TxCtrlr.EVConnectionTimeOut handed to the auth module


async def start_manager(config: Path, log_path: Path) -> asyncio.subprocess.Process:
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "framework.manager", "--config", str(config), cwd=REPO, stdout=log,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


async def queued_transaction_events(database: Path, count: int, timeout: float = 30) -> None:
    """Until the station's queue holds `count` TransactionEvents (the module writes it in another process, so
    there is no event to await)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(database)) as db:
            queued = db.execute("SELECT COUNT(*) FROM outbox WHERE action = 'TransactionEvent'").fetchone()[0]
            if queued >= count:
                return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{count} TransactionEvents not queued in {database} within {timeout}s")
        await asyncio.sleep(0.1)


async def test_kill_9_during_an_offline_transaction_loses_no_transaction_event(tmp_path: Path,
                                                                              broker: PrivateBroker) -> None:
    """A session while the 2.0.1 station is offline, then power is cut (SIGKILL to every module): after the
    restart every TransactionEvent arrives once, marked offline, numbered without gaps, and the transaction the cut
    interrupted is Ended with PowerLoss."""
    async with LocalCsms(call_timeout=10) as csms16, LocalCsms(call_timeout=10, ocpp_version="2.0.1") as csms201:
        state = StateFolder.at(tmp_path, None)
        state.write_user_config(csms16.url)
        config = run_config(state, broker, csms201, tmp_path)
        document = yaml.safe_load(config.read_text())
        document["active_modules"]["ocpp201"]["config_module"]["EnableExternalWebsocketControl"] = True
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        manager = await start_manager(config, tmp_path / "manager.log")
        try:
            await csms201.wait_for("StatusNotification", lambda p: p["evseId"] == 2, timeout=BOOT_TIMEOUT_S)
            mark = csms201.mark()
            publish.single(EXTERNAL_DISCONNECT, "", hostname=broker.host, port=broker.port, qos=1)
            await csms201.wait_for_record(lambda r: r.kind == DISCONNECTED, after_index=mark)
            publish.single(carsim_topic(1, "execute_charging_session"), DEFAULT_PLUG_SCRIPT + ";sleep 600",
                           hostname=broker.host, port=broker.port, qos=1)
            publish.single(TOKEN_TOPIC, json.dumps(token_message("CARD201", 1, "ISO14443", "RFID")),
                           hostname=broker.host, port=broker.port, qos=1)
            await queued_transaction_events(tmp_path / "db201" / "cs201.db", 2)  # Started, Updated Charging
        finally:
            os.killpg(manager.pid, signal.SIGKILL)  # the power cut
            await manager.wait()
        manager = await start_manager(config, tmp_path / "manager.log")
        try:
            ended = await csms201.wait_for("TransactionEvent", lambda p: p["eventType"] == "Ended",
                                           timeout=BOOT_TIMEOUT_S)
        finally:
            manager.send_signal(signal.SIGTERM)
            await asyncio.wait_for(manager.wait(), 30)
        events = [p for p in csms201.payloads("TransactionEvent")
                  if p["transactionInfo"]["transactionId"] == ended["transactionInfo"]["transactionId"]]
        assert [e["seqNo"] for e in events] == list(range(len(events)))  # each once, no gap
        assert events[0]["eventType"] == "Started" and events[0]["offline"] is True
        assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"
