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
