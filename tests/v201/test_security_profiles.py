"""Security profiles over OCPP 2.0.1 (A01, A04, A07), set by the network connection profile in use: Basic auth
with SecurityCtrlr.BasicAuthPassword, TLS against the installed CSMS root, TLS with the station's certificate."""

from __future__ import annotations

import json
from pathlib import Path

from module.queue.database import Database
from module.v201.device_model.device_model import DeviceModel
from module.v201.station import Station201
from sim.csms.records import CONNECTED
from sim.csms.server import LocalCsms
from tests.core.sim_security import SimSecurity
from tests.v201.conftest import STATION_ID, RecordingSystem

PASSWORD = "a-station-password-1234"


def shipped(csms: LocalCsms, security_profile: int) -> dict[str, dict[str, str]]:
    scheme = "wss" if security_profile >= 2 else "ws"
    profiles = [{"configurationSlot": 1, "connectionData": {
        "ocppCsmsUrl": f"{scheme}://localhost:{csms.port}", "ocppInterface": "Wired0", "ocppTransport": "JSON",
        "ocppVersion": "OCPP20", "securityProfile": security_profile}}]
    return {"InternalCtrlr/ChargePointId": {"Actual": STATION_ID},
            "InternalCtrlr/NetworkConnectionProfiles": {"Actual": json.dumps(profiles)},
            "SecurityCtrlr/BasicAuthPassword": {"Actual": PASSWORD}}


async def boots(tmp_path: Path, csms: LocalCsms, security_profile: int, security: SimSecurity | None = None) -> dict:
    db = Database.open(tmp_path, STATION_ID)
    tls = await security.port.tls_files(security_profile) if security is not None else {}
    station = Station201(DeviceModel(db, shipped=shipped(csms, security_profile)), db, RecordingSystem(), tls=tls)
    await station.start()
    try:
        await station.queue.registration.wait_accepted()
        assert station.model.value_of("SecurityCtrlr", "SecurityProfile") == str(security_profile)
        record = await csms.wait_for_record(lambda r: r.kind == CONNECTED)
        return dict(record.payload)
    finally:
        await station.stop()
        db.close()


async def test_tc_a_01_cs_basic_authentication_valid_password(tmp_path: Path) -> None:
    async with LocalCsms(ocpp_version="2.0.1", basic_auth={STATION_ID: PASSWORD}, call_timeout=5) as csms:
        connection = await boots(tmp_path, csms, 1)
        assert connection["basic_auth_user"] == STATION_ID and not connection["tls"]


async def test_tc_a_04_cs_tls_server_side_certificate_valid(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", STATION_ID)
    async with LocalCsms(ocpp_version="2.0.1", basic_auth={STATION_ID: PASSWORD}, call_timeout=5,
                         ssl_context=security.server_context()) as csms:
        connection = await boots(tmp_path, csms, 2, security)
        assert connection["tls"] and connection["basic_auth_user"] == STATION_ID


async def test_tc_a_07_cs_tls_client_side_certificate_valid(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", STATION_ID)
    async with LocalCsms(ocpp_version="2.0.1", call_timeout=5,
                         ssl_context=security.server_context(client_certificates=True)) as csms:
        connection = await boots(tmp_path, csms, 3, security)
        assert connection["tls"] and connection["client_cert_subject"]["commonName"] == STATION_ID


async def test_tc_a_09_cs_update_the_basic_auth_password(tmp_path: Path) -> None:
    """SetVariables BasicAuthPassword is Accepted, then the station reconnects with it (under profile 1)."""
    new_password = "the-next-password-5678"
    async with LocalCsms(ocpp_version="2.0.1", basic_auth={STATION_ID: PASSWORD}, call_timeout=5) as csms:
        db = Database.open(tmp_path, STATION_ID)
        station = Station201(DeviceModel(db, shipped=shipped(csms, 1)), db, RecordingSystem())
        await station.start()
        try:
            await station.queue.registration.wait_accepted()
            mark = csms.mark()
            csms.basic_auth = {STATION_ID: new_password}
            answer = await csms.call(STATION_ID, "SetVariables", {"setVariableData": [{
                "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
                "attributeValue": new_password}]})
            assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
            again = await csms.wait_for_record(lambda r: r.kind == CONNECTED, after_index=mark)
            assert again.payload["basic_auth_user"] == STATION_ID
        finally:
            await station.stop()
            db.close()
