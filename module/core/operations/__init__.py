"""CSMS-initiated operations, one file each, grouped by OCPP 1.6 feature profile.

Each module has `ACTION` and `async def handle(cp, payload) -> response payload`. The link answers actions of
profiles the configuration does not list with NotSupported, so a profile is switched on here and in
SupportedFeatureProfiles together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from module.core.operations.core import (
    change_availability,
    change_configuration,
    clear_cache,
    data_transfer,
    get_configuration,
    remote_start_transaction,
    remote_stop_transaction,
    reset,
    unlock_connector,
)
from module.core.operations.remote_trigger import trigger_message

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]

OPERATIONS: dict[str, Handler] = {
    operation.ACTION: operation.handle
    for operation in (change_availability, change_configuration, clear_cache, data_transfer, get_configuration,
                      remote_start_transaction, remote_stop_transaction, reset, unlock_connector, trigger_message)
}
