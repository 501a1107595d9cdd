"""A command of a required module, logged once when it fails (the core then answers truthfully)."""

from __future__ import annotations

import logging
from typing import Any

from framework.errors import CommandError
from framework.module import Requirement

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 30.0


async def call(requirement: Requirement, command: str, args: dict[str, Any]) -> Any:
    try:
        return await requirement.call(command, args, timeout=COMMAND_TIMEOUT)
    except CommandError as error:
        log.warning("%s.%s %s failed: %s", requirement.module_id, requirement.impl_id, command, error)
        raise
