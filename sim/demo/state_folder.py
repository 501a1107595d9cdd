"""The demo's state folder: everything a run keeps (user config, database, logs, certificates, reservations) in one
place.

Layout below the root: `broker.json` and `csms-control.port` (where `python -m sim.ctl` finds the running system),
`manager.log`, `run-config.yaml`, `files/` (the file servers' firmware images and uploads), and one charger
folder: `local/` for the local CSMS, `remote/<slug>/` for a CSMS given with --csms, so pointing the charger
elsewhere never touches the demo's own saved state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SIL_CONFIG = REPO / "config" / "sil.yaml"
BASE_OCPP_CONFIG = REPO / "config" / "ocpp-config.json"
CHARGE_POINT_ID = "cp001"
METER_VALUE_SAMPLE_INTERVAL_S = 5
DEMO_LOG_FORMATS = ["log", "html", "security"]
"""The demo writes logs/messages.html too, the page its README points at (the shipped base config does not)."""
BROKER_FILE = "broker.json"


def charger_folder_name(csms_url: str | None, ocpp_version: str = "1.6") -> str:
    """`local`, or `remote/<host_port_path>` for another CSMS (one folder per CSMS address); with a `201` suffix
    for the OCPP 2.0.1 station, so the two never share state."""
    suffix = "201" if ocpp_version == "2.0.1" else ""
    if not csms_url:
        return "local" + suffix
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", csms_url.split("://", 1)[-1]).strip("_")
    return f"remote{suffix}/{slug or 'csms'}"


@dataclass(frozen=True)
class StateFolder:
    root: Path
    charger: Path
    ocpp_version: str = "1.6"

    @classmethod
    def at(cls, root: Path, csms_url: str | None, ocpp_version: str = "1.6") -> StateFolder:
        root = root.resolve()
        return cls(root, root / charger_folder_name(csms_url, ocpp_version), ocpp_version)

    @property
    def user_config(self) -> Path:
        return self.charger / "user_config.json"

    @property
    def run_config(self) -> Path:
        return self.root / "run-config.yaml"

    @property
    def manager_log(self) -> Path:
        return self.root / "manager.log"

    @property
    def files(self) -> Path:
        """What the demo's file servers serve and receive (firmware images, diagnostics uploads)."""
        return self.root / "files"

    @property
    def broker_file(self) -> Path:
        return self.root / BROKER_FILE

    @property
    def message_log(self) -> Path:
        return self.charger / "logs" / "messages.jsonl"

    @property
    def component_config(self) -> Path:
        """The 2.0.1 station's component config files (its identity and CSMS in custom/InternalCtrlr.json)."""
        return self.charger / "component_config"

    def write_station_files(self, csms_url: str) -> None:
        """Point the 2.0.1 station at the CSMS; what the CSMS wrote in earlier runs stays in its database."""
        profiles = [{"configurationSlot": 1, "connectionData": {
            "ocppCsmsUrl": csms_url.rstrip("/"), "ocppInterface": "Wired0", "ocppTransport": "JSON",
            "ocppVersion": "OCPP20", "securityProfile": 0, "messageTimeout": 30}}]
        internal = {"name": "InternalCtrlr", "properties": {
            "ChargePointId": {"variable_name": "ChargePointId",
                              "attributes": [{"type": "Actual", "value": CHARGE_POINT_ID}]},
            "NetworkConnectionProfiles": {"variable_name": "NetworkConnectionProfiles",
                                          "attributes": [{"type": "Actual", "value": json.dumps(profiles)}]}}}
        _write_atomically(self.component_config / "custom" / "InternalCtrlr.json", json.dumps(internal, indent=2))

    def write_user_config(self, central_system_uri: str) -> None:
        """Point the charger at the CSMS; keys the CSMS changed in earlier runs stay as they were."""
        self.charger.mkdir(parents=True, exist_ok=True)
        user: dict[str, Any] = json.loads(self.user_config.read_text()) if self.user_config.exists() else {}
        internal = user.setdefault("Internal", {})
        internal.update(ChargePointId=CHARGE_POINT_ID, CentralSystemURI=central_system_uri)
        internal.setdefault("LogMessagesFormat", DEMO_LOG_FORMATS)
        user.setdefault("Core", {}).setdefault("MeterValueSampleInterval", METER_VALUE_SAMPLE_INTERVAL_S)
        _write_atomically(self.user_config, json.dumps(user, indent=2) + "\n")

    def write_run_config(self, broker_host: str, broker_port: int) -> Path:
        """config/sil.yaml with the broker named and every module's files placed in this folder."""
        config = yaml.safe_load(SIL_CONFIG.read_text())
        config["settings"] = {**(config.get("settings") or {}),
                              "mqtt_broker_host": broker_host, "mqtt_broker_port": broker_port}
        options = {
            "ocpp": {"ChargePointConfigPath": str(BASE_OCPP_CONFIG), "UserConfigPath": str(self.user_config),
                     "DatabasePath": str(self.charger / "db"), "MessageLogPath": str(self.charger / "logs")},
            "system": {"state_file": str(self.charger / "system.json"), "work_dir": str(self.charger / "system"),
                       "log_paths": f"{self.charger / 'logs'},{self.manager_log}",
                       "security_log_path": str(self.charger / "logs" / "security.log")},
            "auth": {"reservations_file": str(self.charger / "reservations.json")},
            "evse_security": {"certs_dir": str(self.charger / "certs")},
        }
        for module_id, entry in config["active_modules"].items():
            extra = options.get(module_id, {})
            if entry["module"] == "EnergySink":
                extra = {"record_file": str(self.charger / "energy-limits" / f"{module_id}.jsonl")}
            if extra:
                entry["config_module"] = {**(entry.get("config_module") or {}), **extra}
        (self.charger / "energy-limits").mkdir(parents=True, exist_ok=True)
        if self.ocpp_version == "2.0.1":
            config = self._with_ocpp201(config)
        _write_atomically(self.run_config, yaml.safe_dump(config, sort_keys=False))
        return self.run_config

    def _with_ocpp201(self, config: dict[str, Any]) -> dict[str, Any]:
        """The run config with the OCPP201 module in place of the 1.6 one: the connections it declares, and the
        other modules' connections to the 1.6 module's auth_validator / auth_provider moved to it."""
        modules = config["active_modules"]
        ocpp16 = modules.pop("ocpp")
        wanted = ("evse_manager", "system", "security", "auth")
        modules["ocpp201"] = {"module": "OCPP201", "config_module": {
            "CoreDatabasePath": str(self.charger / "db"), "MessageLogPath": str(self.charger / "logs"),
            "DeviceModelConfigPath": str(self.component_config)},
            "connections": {name: ocpp16["connections"][name] for name in wanted}}
        for entry in modules.values():
            for targets in (entry.get("connections") or {}).values():
                for target in targets:
                    if target["module_id"] == "ocpp":
                        target["module_id"] = "ocpp201"
        return config

    def write_broker_file(self, host: str, port: int, external_prefix: str = "") -> None:
        _write_atomically(self.broker_file, json.dumps({"host": host, "port": port,
                                                        "external_prefix": external_prefix}) + "\n")


def _write_atomically(path: Path, text: str) -> None:
    """Readers (sim.ctl, the module at start) never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".tmp")
    partial.write_text(text)
    partial.replace(path)
