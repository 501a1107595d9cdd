"""The charger's identity, as configured; empty optional fields are left out rather than sent empty."""

from __future__ import annotations

from framework.module import Module

FIELDS = ("vendor", "model", "chargepoint_serial", "chargebox_serial", "firmware_version")


def charger_information(config: dict) -> dict:
    return {name: config[name] for name in FIELDS if config.get(name) or name in ("vendor", "model")}


async def main() -> None:
    mod = await Module.connect()
    info = charger_information(mod.config)
    mod.implement("main", "get_charger_information", lambda args: info)
    await mod.signal_ready()
    try:
        await mod.run_forever()
    finally:
        await mod.close()
