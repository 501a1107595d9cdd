"""Provided `auth_validator` (auth_token_validator): tokens validated by the OCPP authorization rules."""

from __future__ import annotations

from typing import Any

from framework.module import Module
from module.impl.validation import validation_result

IMPL = "auth_validator"


def implement(mod: Module, ocpp: Any) -> None:
    async def validate_token(args: dict[str, Any]) -> dict[str, Any]:
        charge_point = await ocpp.started_charge_point()
        id_token = args["provided_token"]["id_token"]["value"]
        return validation_result(await charge_point.core.authorization.validate(id_token))

    mod.implement(IMPL, "validate_token", validate_token)
