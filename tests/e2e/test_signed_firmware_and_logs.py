"""The security extension's GetLog and SignedUpdateFirmware end to end (OCTT TC_079, TC_080, TC_081, and EVerest's
upload_security_log_retries / signed_update_firmware_retries): the OCPP module, the simulated System module (real
transfers, the signature checked with `cryptography`) and the simulated certificate store as processes under the
manager, real FTP and HTTP servers on loopback, the local CSMS."""

from __future__ import annotations

import tarfile
from datetime import UTC, datetime
from typing import Any

from sim.csms import LocalCsms
from sim.csms.records import CONNECTED
from sim.file_server import FtpFileServer, HttpFileServer
from tests.core.sim_security import FirmwareSigner
from tests.e2e.flows import boot
from tests.e2e.harness import ChargerUnderTest
from tests.e2e.test_firmware import REBOOT_S, arrival_times, statuses, steps, wait_for_status

SIGNED = "SignedFirmwareStatusNotification"
LOG = "LogStatusNotification"
FIRMWARE = b"signed firmware 3.0 for cp001\n" * 64


async def start_with_manufacturer_root(charger: ChargerUnderTest, signer: FirmwareSigner) -> LocalCsms:
    charger.system = {}
    charger.security = {}
    await boot(charger)
    answer = await charger.csms.call(None, "InstallCertificate", {
        "certificateType": "ManufacturerRootCertificate", "certificate": signer.root_pem})
    assert answer == {"status": "Accepted"}
    return charger.csms


def signed_update(location: str, signer: FirmwareSigner, request_id: int, signed: bytes = FIRMWARE,
                  **extra: Any) -> dict[str, Any]:
    return {"requestId": request_id, **extra, "firmware": {
        "location": location, "retrieveDateTime": datetime.now(UTC).isoformat(),
        "signingCertificate": signer.certificate_pem, "signature": signer.sign(signed)}}


def request_ids(csms: LocalCsms, action: str, after: int = 0) -> set[int]:
    return {payload["requestId"] for payload in csms.payloads(action, after_index=after)}


async def test_tc_079_cs_get_security_log(charger: ChargerUnderTest, ftp_files: FtpFileServer) -> None:
    (ftp_files.root / "logs").mkdir()
    charger.system = {}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    answer = await csms.call(None, "GetLog", {"logType": "SecurityLog", "requestId": 79,
                                              "log": {"remoteLocation": ftp_files.url + "logs/"}})
    assert answer["status"] == "Accepted"
    await wait_for_status(csms, LOG, "Uploaded", mark)
    assert statuses(csms, LOG, mark) == ["Uploading", "Uploaded"] and request_ids(csms, LOG, mark) == {79}
    with tarfile.open(ftp_files.root / "logs" / answer["filename"]) as archive:
        assert sorted(archive.getnames()) == ["diagnostics.json", "security.log"]  # the security log only
        security_log = archive.extractfile("security.log")
        assert security_log is not None
        assert "StartupOfTheDevice" in security_log.read().decode()  # the boot's event, as the module wrote it


async def test_tc_080_cs_signed_firmware_update(charger: ChargerUnderTest, http_files: HttpFileServer) -> None:
    (http_files.root / "fw-3.0.bin").write_bytes(FIRMWARE)
    signer = FirmwareSigner()
    csms = await start_with_manufacturer_root(charger, signer)
    mark = csms.mark()
    request = signed_update(http_files.url + "fw-3.0.bin", signer, 80)
    assert await csms.call(None, "SignedUpdateFirmware", request) == {"status": "Accepted"}
    reboot = await csms.wait_for_record(lambda r: r.kind == CONNECTED, timeout=REBOOT_S, after_index=mark)
    await wait_for_status(csms, SIGNED, "Installed", reboot.index, timeout=REBOOT_S)
    assert steps(statuses(csms, SIGNED, mark)) == [
        "Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting", "Installed"]
    assert request_ids(csms, SIGNED, mark) == {80}
    assert csms.payloads("FirmwareStatusNotification", after_index=mark) == []


async def test_tc_081_cs_invalid_firmware_signature(charger: ChargerUnderTest, http_files: HttpFileServer) -> None:
    (http_files.root / "fw-3.0.bin").write_bytes(FIRMWARE)
    signer = FirmwareSigner()
    csms = await start_with_manufacturer_root(charger, signer)
    mark = csms.mark()
    request = signed_update(http_files.url + "fw-3.0.bin", signer, 81, signed=b"some other file")
    assert await csms.call(None, "SignedUpdateFirmware", request) == {"status": "Accepted"}
    await wait_for_status(csms, SIGNED, "InvalidSignature", mark)
    await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidFirmwareSignature",
                        after_index=mark)
    assert statuses(csms, SIGNED, mark) == ["Downloading", "Downloaded", "InvalidSignature"]
    assert csms.payloads("BootNotification", after_index=mark) == []  # nothing installed, no reboot


async def test_signing_certificate_not_from_the_manufacturer_root_is_refused_before_download(
        charger: ChargerUnderTest, http_files: HttpFileServer) -> None:
    (http_files.root / "fw-3.0.bin").write_bytes(FIRMWARE)
    csms = await start_with_manufacturer_root(charger, FirmwareSigner())
    mark = csms.mark()
    request = signed_update(http_files.url + "fw-3.0.bin", FirmwareSigner(trusted=False), 82)
    assert await csms.call(None, "SignedUpdateFirmware", request) == {"status": "InvalidCertificate"}
    await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidFirmwareSigningCertificate",
                        after_index=mark)
    assert http_files.requests == []
    assert csms.payloads(SIGNED, after_index=mark) == []


async def test_upload_security_log_retries(charger: ChargerUnderTest, http_files: HttpFileServer) -> None:
    charger.system = {"http_upload_method": "POST"}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    answer = await csms.call(None, "GetLog", {"logType": "SecurityLog", "requestId": 83, "retries": 1,
                                              "retryInterval": 1,
                                              "log": {"remoteLocation": http_files.url + "forbidden/upload"}})
    assert answer["status"] == "Accepted"
    await csms.wait_for(LOG, lambda _p: statuses(csms, LOG, mark).count("UploadFailure") == 2, after_index=mark)
    assert statuses(csms, LOG, mark) == ["Uploading", "UploadFailure", "Uploading", "UploadFailure"]
    assert arrival_times(csms, LOG, "Uploading", mark)[1] - arrival_times(csms, LOG, "UploadFailure", mark)[0] >= 0.9
    assert http_files.requests == [("POST", "/forbidden/upload")] * 2


async def test_signed_update_firmware_retries(charger: ChargerUnderTest, http_files: HttpFileServer) -> None:
    signer = FirmwareSigner()
    csms = await start_with_manufacturer_root(charger, signer)
    mark = csms.mark()
    request = signed_update(http_files.url + "no-such-firmware.bin", signer, 84, retries=1, retryInterval=1)
    assert await csms.call(None, "SignedUpdateFirmware", request) == {"status": "Accepted"}
    await csms.wait_for(SIGNED, lambda _p: statuses(csms, SIGNED, mark).count("DownloadFailed") == 2,
                        after_index=mark)
    assert statuses(csms, SIGNED, mark) == ["Downloading", "DownloadFailed", "Downloading", "DownloadFailed"]
    assert request_ids(csms, SIGNED, mark) == {84}
    assert [r for r in http_files.requests if r[0] == "GET"] == [("GET", "/no-such-firmware.bin")] * 2
