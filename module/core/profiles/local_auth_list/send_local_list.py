"""SendLocalList: a Full update replaces the local list, a Differential one adds, updates and removes entries.

Nothing is applied unless the answer is Accepted: a Differential whose version is not newer than the list's is a
VersionMismatch; a request longer than SendLocalListMaxLength, one naming an idTag twice, a Full one with an entry
without idTagInfo, a Full one with a version below 1 that is not the empty list with version 0 (GetLocalListVersion
says 0 for "empty" and -1 for "not supported"; a CSMS clears the list with an empty Full list of version 0, as
EVerest's tests do), an update that would leave more than LocalAuthListMaxLength entries, and a failed write are
Failed.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from module.core.profiles.local_auth_list.local_list import ListTooLong, LocalAuthList
from module.queue.database import DatabaseError

if TYPE_CHECKING:
    from module.core.profiles.local_auth_list.service import LocalAuthListService

ACTION = "SendLocalList"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    list_max: int
    """LocalAuthListMaxLength: most entries in the list."""
    request_max: int
    """SendLocalListMaxLength: most entries in one SendLocalList."""


Refusal = tuple[str, str]
"""An UpdateStatus other than Accepted, and why."""


def _refusal(local_list: LocalAuthList, request: dict[str, Any], limits: Limits) -> Refusal | None:
    version = request["listVersion"]
    items = request.get("localAuthorizationList") or []
    full = request["updateType"] == "Full"
    if not full and version <= local_list.version():
        return "VersionMismatch", f"version {version} is not newer than the list's {local_list.version()}"
    if full and version < 1 and not (version == 0 and not items):
        return "Failed", f"version {version} of a non-empty full list is below 1"
    if len(items) > limits.request_max:
        return "Failed", f"{len(items)} entries, SendLocalListMaxLength is {limits.request_max}"
    if len({item["idTag"] for item in items}) != len(items):
        return "Failed", "an idTag appears twice"
    if full and any("idTagInfo" not in item for item in items):
        return "Failed", "an entry of a full list has no idTagInfo"
    return None


def _store(local_list: LocalAuthList, request: dict[str, Any], limits: Limits) -> Refusal | None:
    items = request.get("localAuthorizationList") or []
    try:
        if request["updateType"] == "Full":
            local_list.replace(request["listVersion"], {item["idTag"]: item["idTagInfo"] for item in items},
                               limits.list_max)
        else:
            local_list.update(request["listVersion"], {item["idTag"]: item.get("idTagInfo") for item in items},
                              limits.list_max)
    except ListTooLong as error:
        return "Failed", f"{error} (LocalAuthListMaxLength)"
    except (sqlite3.Error, DatabaseError) as error:
        return "Failed", f"the list could not be stored: {error}"
    return None


def apply(local_list: LocalAuthList, request: dict[str, Any], limits: Limits) -> str:
    """The UpdateStatus of `request` on `local_list`; the list changes only when it is Accepted."""
    refusal = _refusal(local_list, request, limits) or _store(local_list, request, limits)
    if refusal is None:
        return "Accepted"
    status, reason = refusal
    log.warning("SendLocalList %s version %s: %s, %s", request["updateType"], request["listVersion"], status, reason)
    return status


async def handle(service: LocalAuthListService, request: dict[str, Any]) -> dict[str, Any]:
    if not service.enabled():
        return {"status": "NotSupported"}
    return {"status": apply(service.list, request, service.limits())}
