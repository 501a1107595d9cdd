"""The LocalAuthListManagement profile's state: the local authorization list, which authorization reads through
the context (it is consulted only while LocalAuthListEnabled is true)."""

from __future__ import annotations

from typing import Any

from module.core.context import CoreContext
from module.core.profile import ServiceBase
from module.core.profiles.local_auth_list.local_list import LocalAuthList
from module.core.profiles.local_auth_list.send_local_list import Limits


class LocalAuthListService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._cfg = ctx.cfg
        self.list = LocalAuthList(ctx.db)
        ctx.local_list.install(self)

    def enabled(self) -> bool:
        return bool(self._cfg.get("LocalAuthListEnabled"))

    def get(self, id_tag: str) -> dict[str, Any] | None:
        return self.list.get(id_tag)

    def limits(self) -> Limits:
        return Limits(list_max=self._cfg.get("LocalAuthListMaxLength"),
                      request_max=self._cfg.get("SendLocalListMaxLength"))
