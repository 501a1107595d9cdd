"""The optional data_transfer requirement: the core's DataTransferPort."""

from __future__ import annotations

from typing import Any

from framework.module import Module
from module.impl.requirements.command import call


class DataTransferModule:
    def __init__(self, mod: Module) -> None:
        transfers = mod.requirements("data_transfer")
        self._requirement = transfers[0] if transfers else None

    async def data_transfer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if self._requirement is None:
            return None
        answer: dict[str, Any] = await call(self._requirement, "data_transfer", {"request": request})
        return answer
