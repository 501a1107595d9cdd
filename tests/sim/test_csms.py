"""The local CSMS against a real charge point built on the `ocpp` package, over real websockets (and TLS)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import ipaddress
import json
import signal
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.exceptions import InternalError, OCPPError
from ocpp.messages import Call, validate_payload
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from sim.csms import NO_REPLY, CallErrorReply, CsmsCallError, LocalCsms
from sim.csms.control import PORT_FILE, add_cli, charging_profile, send_command
from sim.csms.tls import server_context

NOW = "2024-05-01T10:00:00Z"


class SimChargePoint(ChargePoint):
    """A minimal charge point: answers Reset, RemoteStartTransaction and (wrongly) ChangeAvailability."""

    resets: list[str]

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        self.resets.append(type)
        return call_result.Reset(status="Accepted")

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, **_: Any) -> call_result.RemoteStartTransaction:
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.change_availability, skip_schema_validation=True)
    def on_change_availability(self, **_: Any) -> call_result.ChangeAvailability:
        return call_result.ChangeAvailability(status="Maybe")  # breaks the schema on purpose


@contextlib.asynccontextmanager
async def charge_point(url: str, cp_id: str = "cp001", **connect_options: Any) -> AsyncIterator[SimChargePoint]:
    async with connect(url + cp_id, subprotocols=["ocpp1.6"], **connect_options) as ws:
        cp = SimChargePoint(cp_id, ws, response_timeout=5)
        cp.resets = []
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@pytest.fixture
async def csms() -> AsyncIterator[LocalCsms]:
    async with LocalCsms() as server:
        yield server


async def boot(cp: SimChargePoint) -> call_result.BootNotification:
    return await cp.call(call.BootNotification(charge_point_model="Sim", charge_point_vendor="Team"))


async def test_boot_is_accepted_and_recorded(csms: LocalCsms) -> None:
    assert csms.url.startswith("ws://127.0.0.1:") and csms.url.endswith("/")
    async with charge_point(csms.url) as cp:
        answer = await boot(cp)
        assert answer.status == "Accepted" and answer.interval == 300 and answer.current_time.endswith("Z")
        assert await csms.wait_for_charge_point() == "cp001"
        state = csms.charge_points["cp001"]
        assert state.connected and state.registration_status == "Accepted"
        assert state.boot == {"chargePointModel": "Sim", "chargePointVendor": "Team"}
        request = csms.messages[1]
        response = csms.messages[2]
        assert (request.direction, request.kind, request.action) == ("in", "CALL", "BootNotification")
        assert (response.direction, response.kind, response.action) == ("out", "CALLRESULT", "BootNotification")
        assert json.loads(request.raw)[:3] == [2, request.unique_id, "BootNotification"]
        assert response.unique_id == request.unique_id


async def test_boot_status_and_handler_overrides(csms: LocalCsms) -> None:
    csms.boot_status = "Pending"
    csms.heartbeat_interval = 7
    async with charge_point(csms.url) as cp:
        answer = await boot(cp)
        assert (answer.status, answer.interval) == ("Pending", 7)
        csms.set_handler(
            "BootNotification", lambda payload, cp_id: {"status": "Rejected", "currentTime": NOW, "interval": 1}
        )
        assert (await boot(cp)).status == "Rejected"
        csms.set_handler("Heartbeat", CallErrorReply("InternalError", "down for tests"))
        with pytest.raises(InternalError):
            await cp.call(call.Heartbeat(), suppress=False)
        assert csms.messages[-1].payload["errorDescription"] == "down for tests"
        csms.set_handler("Heartbeat", None)
        assert (await cp.call(call.Heartbeat())).current_time.endswith("Z")


async def test_unanswered_call_times_out_at_the_charge_point(csms: LocalCsms) -> None:
    csms.set_handler("StartTransaction", NO_REPLY)
    async with charge_point(csms.url) as cp:
        cp._response_timeout = 0.3
        with pytest.raises(asyncio.TimeoutError):
            await cp.call(call.StartTransaction(connector_id=1, id_tag="T", meter_start=0, timestamp=NOW))
        assert csms.payloads("StartTransaction", direction="out", kind="CALLRESULT") == []
        assert csms.transactions() == []


async def test_authorize_follows_the_id_tag_rules(csms: LocalCsms) -> None:
    csms.id_tags["RFID_INVALID"] = "Invalid"
    csms.set_id_tag("RFID_CHILD", parent_id_tag="RFID_PARENT", expiry_date="2030-01-01T00:00:00Z")
    async with charge_point(csms.url) as cp:
        assert (await cp.call(call.Authorize(id_tag="RFID_VALID1"))).id_tag_info == {"status": "Accepted"}
        assert (await cp.call(call.Authorize(id_tag="RFID_INVALID"))).id_tag_info == {"status": "Invalid"}
        child = await cp.call(call.Authorize(id_tag="RFID_CHILD"))
        assert child.id_tag_info == {
            "status": "Accepted",
            "parent_id_tag": "RFID_PARENT",
            "expiry_date": "2030-01-01T00:00:00Z",
        }
        csms.default_id_tag_status = "Blocked"
        assert (await cp.call(call.Authorize(id_tag="ANYONE"))).id_tag_info == {"status": "Blocked"}
        started = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="RFID_INVALID", meter_start=0, timestamp=NOW)
        )
        assert started.id_tag_info == {"status": "Invalid"}


def sample(wh: int) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": NOW,
            "sampledValue": [
                {
                    "value": str(wh),
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                    "context": "Sample.Periodic",
                }
            ],
        }
    ]


async def test_transactions_get_increasing_ids_and_keep_meter_values(csms: LocalCsms) -> None:
    async with charge_point(csms.url) as cp:
        first = await cp.call(call.StartTransaction(connector_id=1, id_tag="A", meter_start=100, timestamp=NOW))
        second = await cp.call(call.StartTransaction(connector_id=2, id_tag="B", meter_start=5, timestamp=NOW))
        assert (first.transaction_id, second.transaction_id) == (1, 2)
        await cp.call(call.MeterValues(connector_id=1, transaction_id=1, meter_value=sample(150)))
        await cp.call(call.MeterValues(connector_id=1, transaction_id=1, meter_value=sample(180)))
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Finishing"))
        mark = csms.mark()
        await cp.call(
            call.StopTransaction(meter_stop=200, timestamp=NOW, transaction_id=1, reason="EVDisconnected", id_tag="A")
        )
        stopped = await csms.wait_for_transaction(stopped=True, after_index=mark)
        assert (stopped.transaction_id, stopped.connector_id, stopped.id_tag) == (1, 1, "A")
        assert (stopped.meter_start, stopped.meter_stop, stopped.reason) == (100, 200, "EVDisconnected")
        energies = [mv["sampledValue"][0]["value"] for mv in stopped.meter_values]
        assert energies == ["150", "180"]
        running = csms.charge_points["cp001"].transactions[2]
        assert (running.connector_id, running.stopped) == (2, False)
        assert csms.connector_status(1) == "Finishing"
        assert (await csms.wait_for_transaction(connector=2)).transaction_id == 2


async def test_wait_for_wakes_on_the_message_and_times_out_without_it(csms: LocalCsms) -> None:
    async with charge_point(csms.url) as cp:
        await boot(cp)
        mark = csms.mark()
        waiting = asyncio.create_task(
            csms.wait_for("StatusNotification", lambda p: p["status"] == "Charging", after_index=mark)
        )
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
        assert not waiting.done()
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
        assert (await waiting)["status"] == "Charging"
        with pytest.raises(TimeoutError, match="StatusNotification"):
            await csms.wait_for("Heartbeat", timeout=0.05, after_index=mark)


async def test_commands_round_trip_and_callerror_raises(csms: LocalCsms) -> None:
    async with charge_point(csms.url) as cp:
        await csms.wait_for_charge_point("cp001")
        assert await csms.reset("Hard") == {"status": "Accepted"}
        assert cp.resets == ["Hard"]
        assert await csms.remote_start(1, "RFID_VALID1") == {"status": "Accepted"}
        sent = csms.payloads("RemoteStartTransaction", direction="out")
        assert sent == [{"idTag": "RFID_VALID1", "connectorId": 1}]
        with pytest.raises(CsmsCallError) as error:  # the sim charge point has no UnlockConnector handler
            await csms.unlock(1)
        assert error.value.code == "NotImplemented"
        assert csms.payloads("UnlockConnector", direction="in", kind="CALLERROR")[0]["errorCode"] == "NotImplemented"
        with pytest.raises(OCPPError):  # checked against the schema before sending
            await csms.call("cp001", "Reset", {"type": "Medium"})
        with pytest.raises(CsmsCallError):  # sent anyway: the charge point's schema check answers
            await csms.call("cp001", "Reset", {"type": "Medium"}, validate=False)
        assert cp.resets == ["Hard"]
        with pytest.raises(OCPPError):  # the answer is checked too
            await csms.change_availability(1, "Inoperative")
        assert csms.payloads("ChangeAvailability", kind="CALLRESULT") == [{"status": "Maybe"}]


async def test_reconnect_replaces_the_old_socket_and_drop_closes_it(csms: LocalCsms) -> None:
    async with charge_point(csms.url) as first:
        await csms.wait_for_charge_point("cp001")
        mark = csms.mark()
        async with charge_point(csms.url) as second:
            assert await csms.wait_for_charge_point("cp001", after_index=mark) == "cp001"
            await first._connection.wait_closed()
            assert await csms.reset("Soft") == {"status": "Accepted"}
            assert (first.resets, second.resets) == ([], ["Soft"])
            mark = csms.mark()
            await csms.drop("cp001", abort=True)
            await second._connection.wait_closed()
            await csms.wait_for_record(lambda r: r.kind == "DISCONNECTED", after_index=mark)
            assert not csms.charge_points["cp001"].connected
            with pytest.raises(LookupError):
                await csms.reset("Soft", cp_id="cp001")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_basic_auth_refuses_wrong_or_missing_credentials() -> None:
    async with LocalCsms(basic_auth={"cp001": "0123456789abcdef"}) as csms:
        for headers in ({}, basic("cp001", "wrong"), basic("cp002", "0123456789abcdef")):
            with pytest.raises(InvalidStatus) as refused:
                async with charge_point(csms.url, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 401
        async with charge_point(csms.url, additional_headers=basic("cp001", "0123456789abcdef")) as cp:
            assert (await boot(cp)).status == "Accepted"
        connected = [r for r in csms.messages if r.kind == "CONNECTED"]
        assert connected[0].payload["basic_auth_user"] == "cp001"
        assert "0123456789abcdef" not in json.dumps([r.to_event() for r in csms.messages])


def make_pki(folder: Path) -> None:
    """A test CA signing the CSMS's server certificate (for 127.0.0.1) and a charge point client certificate."""

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        signer: Any,
        ca: bool,
        san: x509.GeneralName | None = None,
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None) -> None:
        (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if key is not None:
            (folder / f"{stem}.key").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )

    ca_key, csms_key, cp_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = issue("Test CA", ca_key, name("Test CA"), ca_key, ca=True)
    write("ca", ca, None)
    write(
        "csms",
        issue("csms", csms_key, ca.subject, ca_key, False, x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
        csms_key,
    )
    write("cp001", issue("cp001", cp_key, ca.subject, ca_key, False), cp_key)


async def test_tls_with_required_client_certificate(tmp_path: Path) -> None:
    make_pki(tmp_path)
    client = ssl.create_default_context(cafile=tmp_path / "ca.pem")
    client.load_cert_chain(tmp_path / "cp001.pem", tmp_path / "cp001.key")
    async with LocalCsms(ssl_context=server_context(tmp_path, require_client_cert=True)) as csms:
        assert csms.url.startswith("wss://")
        async with charge_point(csms.url, ssl=client) as cp:
            assert (await boot(cp)).status == "Accepted"
        info = next(r.payload for r in csms.messages if r.kind == "CONNECTED")
        assert info["tls"] and info["client_cert_subject"]["commonName"] == "cp001"
        without_cert = ssl.create_default_context(cafile=tmp_path / "ca.pem")
        with pytest.raises((ssl.SSLError, InvalidHandshake)):  # TLS 1.3 reports the refusal after its handshake
            async with charge_point(csms.url, ssl=without_cert) as cp:
                await boot(cp)
        assert [r.kind for r in csms.messages].count("CONNECTED") == 1


async def read_event(stream: asyncio.StreamReader, kind: str, action: str | None = None) -> dict[str, Any]:
    """Next event line of the CSMS process with that kind (and action)."""
    while line := await asyncio.wait_for(stream.readline(), 10):
        event = json.loads(line)
        if event["kind"] == kind and action in (None, event.get("action")):
            return event
    raise AssertionError(f"the CSMS process ended before a {kind} {action} event")


async def test_process_control_channel_and_cli_drive_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sim.csms",
        "--port",
        "0",
        "--state-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        listening = await read_event(process.stdout, "LISTENING")
        assert (tmp_path / PORT_FILE).read_text().strip() == str(listening["control_port"])
        async with charge_point(listening["url"]) as cp:
            await boot(cp)
            await read_event(process.stdout, "CALLRESULT", "BootNotification")
            assert await send_command(tmp_path, "Reset", {"type": "Soft"}) == {"status": "Accepted"}
            assert cp.resets == ["Soft"]
            sent = await read_event(process.stdout, "CALL", "Reset")
            assert (sent["direction"], sent["payload"]) == ("out", {"type": "Soft"})

            parser = argparse.ArgumentParser()
            add_cli(parser.add_subparsers())
            args = parser.parse_args(["csms", "--state-dir", str(tmp_path), "reset", "Hard"])
            assert await asyncio.to_thread(args.run, args) == 0
            assert cp.resets == ["Soft", "Hard"]
            assert json.loads(capsys.readouterr().out) == {"status": "Accepted"}

            args = parser.parse_args(["csms", "--state-dir", str(tmp_path), "unlock", "1"])
            assert await asyncio.to_thread(args.run, args) == 1
            assert "NotImplemented" in capsys.readouterr().err

            await cp.call(call.StartTransaction(connector_id=1, id_tag="RFID_VALID1", meter_start=3, timestamp=NOW))
            args = parser.parse_args(["csms", "--state-dir", str(tmp_path), "transactions"])
            assert await asyncio.to_thread(args.run, args) == 0
            [tx] = json.loads(capsys.readouterr().out)["transactions"]
            assert (tx["transaction_id"], tx["id_tag"], tx["stopped"]) == (1, "RFID_VALID1", False)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    assert not (tmp_path / PORT_FILE).exists()


@pytest.mark.parametrize("argv, expected", [
    (["set-profile", "0", "8"], {"connectorId": 0, "purpose": "TxDefaultProfile", "limit": 8, "unit": "A"}),
    (["set-profile", "1", "3680", "--unit", "W", "--purpose", "TxProfile", "--transaction", "7", "--id", "3"],
     {"connectorId": 1, "purpose": "TxProfile", "limit": 3680, "unit": "W", "transactionId": 7}),
])
async def test_cli_set_profile_sends_a_valid_set_charging_profile(argv: list[str], expected: dict[str, Any]) -> None:
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(["csms", *argv])
    action, payload = charging_profile(args)
    await validate_payload(Call("1", action, payload), "1.6")  # what the CSMS would check before sending
    profile = payload["csChargingProfiles"]
    schedule = profile["chargingSchedule"]
    assert (payload["connectorId"], profile["chargingProfilePurpose"], schedule["chargingSchedulePeriod"][0]["limit"],
            schedule["chargingRateUnit"], profile.get("transactionId")) == (
        expected["connectorId"], expected["purpose"], expected["limit"], expected["unit"],
        expected.get("transactionId"))
