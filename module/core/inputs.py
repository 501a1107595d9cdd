"""What the charger tells the core, as typed values: module/impl converts EVerest's vars into these in one place,
so no service parses an EVerest dict.

Energy readings stay in the Powermeter shape (`energy_Wh_import.total` and the other measurands), because that
shape is what module/core/meter_values.py turns into SampledValues measurand by measurand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Reading = dict[str, Any]
"""One power meter reading in the Powermeter shape; `has_energy` tells whether it holds the energy register."""


@dataclass(frozen=True)
class SessionEvent:
    """One EVSE session event on one OCPP connector.

    `kind` is EVerest's event name (SessionStarted, TransactionStarted, ...). `reason` is the session start reason
    (SessionStarted) or the stop reason (TransactionFinished); `id_tag` the token that started or stopped the
    transaction; `meter` the reading that came with TransactionStarted / TransactionFinished.
    """

    kind: str
    session_id: str
    timestamp: str | None = None
    reason: str | None = None
    id_tag: str | None = None
    meter: Reading | None = None
    reservation_id: int | None = None



@dataclass
class BootInfo:
    """The BootNotification fields; module/impl fills them from charger_information or the configuration."""

    vendor: str
    model: str
    charge_point_serial: str | None = None
    charge_box_serial: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial: str | None = None

    def payload(self) -> dict[str, Any]:
        fields = {"chargePointVendor": self.vendor, "chargePointModel": self.model,
                  "chargePointSerialNumber": self.charge_point_serial, "chargeBoxSerialNumber": self.charge_box_serial,
                  "firmwareVersion": self.firmware_version, "iccid": self.iccid, "imsi": self.imsi,
                  "meterType": self.meter_type, "meterSerialNumber": self.meter_serial}
        return {key: value for key, value in fields.items() if value}
