"""SetNetworkProfile (B09): a connection profile stored in its configuration slot of NetworkConnectionProfiles.
It is used once NetworkConfigurationPriority names the slot (at the next connection attempts, or as the fallback
after NetworkProfileConnectionAttempts failures). Rejected: a slot outside the values NetworkConfigurationPriority
may hold, an OCPP version other than 2.0.x, or a security profile below the one in use (B09.FR.04: no
downgrade)."""

from __future__ import annotations

import json
from typing import Any

from module.v201.device_model.device_model import DeviceModel

ACTION = "SetNetworkProfile"
OCPP_VERSIONS = frozenset({"OCPP20", "OCPP201"})


def handle(model: DeviceModel, current_security_profile: int, request: dict[str, Any]) -> dict[str, Any]:
    slot = request["configurationSlot"]
    data = request["connectionData"]
    priority = model.find({"name": "OCPPCommCtrlr"}, {"name": "NetworkConfigurationPriority"})
    profiles_spec = model.find({"name": "InternalCtrlr"}, {"name": "NetworkConnectionProfiles"})
    if isinstance(priority, str) or isinstance(profiles_spec, str):
        return {"status": "Failed"}
    if str(slot) not in priority.values_list or data["ocppVersion"] not in OCPP_VERSIONS or \
            data["securityProfile"] < current_security_profile:
        return {"status": "Rejected"}
    try:
        profiles = [p for p in json.loads(model.value(profiles_spec) or "[]") if p.get("configurationSlot") != slot]
    except ValueError:
        profiles = []
    profiles.append({"configurationSlot": slot, "connectionData": data})
    text = json.dumps(sorted(profiles, key=lambda p: p["configurationSlot"]))
    if len(text) > (profiles_spec.max_length or 2500):
        return {"status": "Failed"}
    model.write(profiles_spec, text)
    return {"status": "Accepted"}
