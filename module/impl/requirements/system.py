"""The system requirement: the core's SystemPort, and the boot reason at start-up."""

from __future__ import annotations

from framework.module import Module
from module.impl.requirements.command import call


class SystemModule:
    def __init__(self, mod: Module) -> None:
        self._system = mod.requirement("system")

    async def is_reset_allowed(self, reset_type: str) -> bool:
        return bool(await call(self._system, "is_reset_allowed", {"type": reset_type}))

    async def reset(self, reset_type: str) -> None:
        await call(self._system, "reset", {"type": reset_type, "scheduled": False})

    async def set_system_time(self, timestamp: str) -> bool:
        return bool(await call(self._system, "set_system_time", {"timestamp": timestamp}))

    async def get_boot_reason(self) -> str:
        return str(await call(self._system, "get_boot_reason", {}))
