"""FirmwareManagement end to end (OCTT TC_044, TC_045): the OCPP module and the simulated System module as
processes under the manager, real FTP and HTTP servers on loopback, the local CSMS.

The System module downloads and uploads for real; after installing it reboots the charger through the manager.
"""

from __future__ import annotations

import itertools
import json
import tarfile
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from sim.csms import LocalCsms
from sim.csms.records import CALL, CONNECTED
from sim.file_server import FtpFileServer, HttpFileServer
from sim.System.module import BAD_FIRMWARE_MARKER
from tests.e2e.flows import boot, wait_status
from tests.e2e.harness import ChargerUnderTest

FIRMWARE = "FirmwareStatusNotification"
DIAGNOSTICS = "DiagnosticsStatusNotification"
REBOOT_S = 60.0  # the manager stops and starts every module; slow on a loaded machine


def update_firmware(location: str, **extra: Any) -> dict[str, Any]:
    return {"location": location, "retrieveDate": datetime.now(UTC).isoformat(), **extra}


def statuses(csms: LocalCsms, action: str, after: int = 0) -> list[str]:
    return [payload["status"] for payload in csms.payloads(action, after_index=after)]


def steps(sequence: list[str]) -> list[str]:
    """Statuses with repeats in a row collapsed: a notification in flight when the charger stops (reboot, kill)
    is sent again after the start, as every queued message is (at least once, never lost)."""
    return [status for status, _ in itertools.groupby(sequence)]


def arrival_times(csms: LocalCsms, action: str, status: str, after: int = 0) -> list[float]:
    return [record.time for record in csms.messages[after:]
            if record.kind == CALL and record.action == action and record.payload["status"] == status]


async def wait_for_status(csms: LocalCsms, action: str, status: str, after: int = 0,
                          timeout: float = 20) -> None:
    await csms.wait_for(action, lambda p: p["status"] == status, timeout=timeout, after_index=after)


async def test_tc_044_1_cs_firmware_update_download_and_install(charger: ChargerUnderTest,
                                                                http_files: HttpFileServer) -> None:
    firmware = b"firmware 2.0 for cp001\n" * 64
    (http_files.root / "fw-2.0.bin").write_bytes(firmware)
    charger.system = {}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    assert await csms.call(None, "UpdateFirmware", update_firmware(http_files.url + "fw-2.0.bin")) == {}
    await wait_for_status(csms, FIRMWARE, "Installing", mark)
    for connector in (1, 2):  # out of service before the installation
        await wait_status(csms, connector, "Unavailable", mark)
    reboot = await csms.wait_for_record(lambda r: r.kind == CONNECTED, timeout=REBOOT_S, after_index=mark)
    await wait_for_status(csms, FIRMWARE, "Installed", reboot.index, timeout=REBOOT_S)
    event = await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "FirmwareUpdated",
                                after_index=reboot.index)
    assert event["timestamp"]
    for connector in (1, 2):  # back in service after the reboot
        await wait_status(csms, connector, "Available", reboot.index)
    assert steps(statuses(csms, FIRMWARE, mark)) == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert len(csms.payloads("BootNotification", after_index=mark)) == 1
    installed = json.loads((charger.workdir / "system.json").read_text())["installed_firmware"]
    assert [item["sha256"] for item in installed] == [sha256(firmware).hexdigest()]


async def test_tc_044_2_cs_firmware_update_download_failed_after_its_retries(charger: ChargerUnderTest,
                                                                             http_files: HttpFileServer) -> None:
    charger.system = {}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    request = update_firmware(http_files.url + "no-such-firmware.bin", retries=1, retryInterval=1)
    assert await csms.call(None, "UpdateFirmware", request) == {}
    await csms.wait_for(FIRMWARE, lambda _p: statuses(csms, FIRMWARE, mark).count("DownloadFailed") == 2,
                        after_index=mark)
    assert statuses(csms, FIRMWARE, mark) == ["Downloading", "DownloadFailed", "Downloading", "DownloadFailed"]
    first_failure = arrival_times(csms, FIRMWARE, "DownloadFailed", mark)[0]
    second_attempt = arrival_times(csms, FIRMWARE, "Downloading", mark)[1]
    assert second_attempt - first_failure >= 0.9  # retryInterval 1 s
    assert [request for request in http_files.requests if request[0] == "GET"] == [
        ("GET", "/no-such-firmware.bin")] * 2  # retries 1: two attempts
    after = csms.mark()
    assert await csms.trigger_message(FIRMWARE) == {"status": "Accepted"}
    assert (await csms.wait_for(FIRMWARE, after_index=after))["status"] == "Idle"


async def test_tc_044_3_cs_firmware_update_installation_failed(charger: ChargerUnderTest,
                                                               ftp_files: FtpFileServer) -> None:
    (ftp_files.root / "fw-bad.bin").write_bytes(BAD_FIRMWARE_MARKER + b" not for this charger\n")
    charger.system = {}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    assert await csms.call(None, "UpdateFirmware", update_firmware(ftp_files.url + "fw-bad.bin")) == {}
    await wait_for_status(csms, FIRMWARE, "InstallationFailed", mark)
    for connector in (1, 2):  # out of service for the installation, back in service after it failed
        await wait_status(csms, connector, "Unavailable", mark)
        await wait_status(csms, connector, "Available", mark)
    assert statuses(csms, FIRMWARE, mark) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
    assert csms.payloads("BootNotification", after_index=mark) == []  # no reboot


async def test_tc_045_1_cs_get_diagnostics_uploaded(charger: ChargerUnderTest, ftp_files: FtpFileServer) -> None:
    (ftp_files.root / "diagnostics").mkdir()
    charger.system = {}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    answer = await csms.call(None, "GetDiagnostics", {"location": ftp_files.url + "diagnostics/",
                                                      "startTime": "2020-01-01T00:00:00Z"})
    await wait_for_status(csms, DIAGNOSTICS, "Uploaded", mark)
    assert statuses(csms, DIAGNOSTICS, mark) == ["Uploading", "Uploaded"]
    uploaded = ftp_files.root / "diagnostics" / answer["fileName"]
    with tarfile.open(uploaded) as archive:
        names = archive.getnames()
        index = json.load(archive.extractfile("diagnostics.json"))  # type: ignore[arg-type]
    assert "manager.log" in names and any(name.startswith("logs/") for name in names)  # the OCPP message log
    assert index["oldest"] == "2020-01-01T00:00:00Z"


async def test_tc_045_2_cs_get_diagnostics_upload_failed_after_its_retries(charger: ChargerUnderTest,
                                                                           http_files: HttpFileServer) -> None:
    charger.system = {"http_upload_method": "POST"}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    answer = await csms.call(None, "GetDiagnostics", {"location": http_files.url + "forbidden/upload",
                                                      "retries": 1, "retryInterval": 1})
    assert answer["fileName"].endswith(".tar.gz")
    await csms.wait_for(DIAGNOSTICS, lambda _p: statuses(csms, DIAGNOSTICS, mark).count("UploadFailed") == 2,
                        after_index=mark)
    assert statuses(csms, DIAGNOSTICS, mark) == ["Uploading", "UploadFailed", "Uploading", "UploadFailed"]
    first_failure = arrival_times(csms, DIAGNOSTICS, "UploadFailed", mark)[0]
    second_attempt = arrival_times(csms, DIAGNOSTICS, "Uploading", mark)[1]
    assert second_attempt - first_failure >= 0.9  # retryInterval 1 s
    assert http_files.requests == [("POST", "/forbidden/upload")] * 2


async def test_kill_during_downloading_takes_the_download_up_again_after_restart(
        charger: ChargerUnderTest, http_files: HttpFileServer) -> None:
    (http_files.root / "held").mkdir()
    (http_files.root / "held" / "fw-2.1.bin").write_bytes(b"firmware 2.1\n")
    charger.system = {"transfer_timeout_s": 30}
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    assert await csms.call(None, "UpdateFirmware", update_firmware(http_files.url + "held/fw-2.1.bin")) == {}
    await wait_for_status(csms, FIRMWARE, "Downloading", mark)
    await charger.kill()  # the server never answered the download
    http_files.release()
    restart = csms.mark()
    await boot(charger)
    first = await csms.wait_for_record(lambda r: r.kind == CONNECTED, after_index=restart)
    reboot = await csms.wait_for_record(lambda r: r.kind == CONNECTED, timeout=REBOOT_S, after_index=first.index + 1)
    await wait_for_status(csms, FIRMWARE, "Installed", reboot.index, timeout=REBOOT_S)
    assert steps(statuses(csms, FIRMWARE, restart)) == ["Downloading", "Downloaded", "Installing", "Installed"]
