"""The optional charger_information requirement: what BootNotification says about the charger."""

from __future__ import annotations

import logging

from framework.errors import CommandError
from framework.module import Module
from module.config.charge_point_config import ChargePointConfig
from module.core.inputs import BootInfo
from module.impl.requirements.command import call

log = logging.getLogger(__name__)


async def boot_info(mod: Module, cfg: ChargePointConfig) -> BootInfo:
    """The configuration's fields, overridden by the charger_information module when one is connected."""
    info = BootInfo(vendor=cfg.get("ChargePointVendor"), model=cfg.get("ChargePointModel"),
                    charge_point_serial=cfg.get("ChargePointSerialNumber"),
                    charge_box_serial=cfg.get("ChargeBoxSerialNumber"),
                    firmware_version=cfg.get("FirmwareVersion"), iccid=cfg.get("ICCID"), imsi=cfg.get("IMSI"),
                    meter_type=cfg.get("MeterType"), meter_serial=cfg.get("MeterSerialNumber"))
    providers = mod.requirements("charger_information")
    if not providers:
        return info
    try:
        charger = await call(providers[0], "get_charger_information", {})
    except CommandError as error:
        log.warning("charger_information failed (%s): BootNotification uses the configuration", error)
        return info
    info.vendor, info.model = charger["vendor"], charger["model"]
    info.charge_point_serial = charger.get("chargepoint_serial") or info.charge_point_serial
    info.charge_box_serial = charger.get("chargebox_serial") or info.charge_box_serial
    info.firmware_version = charger.get("firmware_version") or info.firmware_version
    return info
