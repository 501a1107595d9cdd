"""idTagInfo as EVerest's ValidationResult, for auth_validator's command and its validate_result_update var."""

from __future__ import annotations

from typing import Any


def validation_result(info: dict[str, Any]) -> dict[str, Any]:
    """An idTagInfo as EVerest's ValidationResult (tariff_messages is required by the type)."""
    result: dict[str, Any] = {"authorization_status": info.get("status", "Invalid"), "tariff_messages": []}
    if info.get("expiryDate"):
        result["expiry_time"] = info["expiryDate"]
    if info.get("parentIdTag"):
        result["parent_id_token"] = {"value": info["parentIdTag"], "type": "Central"}
    return result
