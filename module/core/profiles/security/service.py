"""The Security whitepaper's state on the charge point: the security profile in use and its changes at run time,
the AuthorizationKey and CentralSystemURI reconnects, the certificate store (through SecurityPort) and the charge
point certificate's renewal."""

from __future__ import annotations

import logging
from typing import Any

from module.core.context import CoreContext, command
from module.core.profile import Reply, ServiceBase
from module.core.profiles.core.security_events import SecurityEventService

log = logging.getLogger(__name__)

TLS_FIELDS = ("ca_file", "ca_dir", "client_cert", "client_key", "client_key_password")
"""LinkSettings fields a profile switch replaces: what the old profile used must not linger."""


class SecurityService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.events = SecurityEventService(ctx)
        ctx.configuration_changes["SecurityProfile"] = self.change_security_profile
        ctx.configuration_changes["AuthorizationKey"] = self.change_authorization_key
        self._unsubscribe = [ctx.cfg.on_change("CentralSystemURI", self._central_system_uri_changed)]

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    # -- SecurityProfile ------------------------------------------------------------------------------------
    async def change_security_profile(self, value: str) -> Reply:
        """Only an upgrade whose prerequisites hold is Accepted (stored before the answer); the charge point then
        connects with it once, and falls back to the previous profile when that attempt fails."""
        current = self._ctx.cfg.get("SecurityProfile") or 0
        try:
            wanted = int(value)
        except ValueError:
            return Reply({"status": "Rejected"})
        missing = await self._missing_for(wanted) if wanted > current else f"not an upgrade of {current}"
        if missing:
            log.info("ChangeConfiguration SecurityProfile %s rejected: %s", value, missing)
            return Reply({"status": "Rejected"})
        status = self._ctx.cfg.change_configuration("SecurityProfile", value)
        if status != "Accepted":
            return Reply({"status": status})
        return Reply({"status": status}, then=lambda: self._switch(current, wanted))

    async def _missing_for(self, profile: int) -> str | None:
        """What `profile` needs and the charge point lacks, or None."""
        security = self._ctx.ports.security
        if profile in (1, 2) and not self._ctx.cfg.get("AuthorizationKey"):
            return "no AuthorizationKey"
        if profile >= 2 and not await command("is_ca_certificate_installed", security.csms_root_installed(),
                                              False):
            return "no CSMS root certificate installed"
        if profile == 3 and not await command("get_all_valid_certificates_info",
                                              security.client_certificate_valid(), False):
            return "no valid charge point certificate"
        return None

    async def _switch(self, previous: int, wanted: int) -> None:
        failure = await self._connect_with(wanted)
        if failure is None:
            await self.events.report("ReconfigurationOfSecurityParameters",
                                     f"SecurityProfile changed from {previous} to {wanted}")
            return
        log.warning("SecurityProfile %d failed (%s): back to %d", wanted, failure, previous)
        self._ctx.cfg.set("SecurityProfile", previous)
        await self.events.report("ReconfigurationOfSecurityParameters",
                                 f"SecurityProfile {wanted} failed ({failure}); back to {previous}")
        await self._connect_with(previous)

    async def _connect_with(self, profile: int) -> str | None:
        tls = await command("tls files", self._ctx.ports.security.tls_files(profile), {})
        return await self._reconnect({**dict.fromkeys(TLS_FIELDS), **tls, "security_profile": profile})

    async def _reconnect(self, changes: dict[str, Any]) -> str | None:
        assert self._ctx.link_control is not None, "the charge point wires link_control at assembly"
        return await self._ctx.link_control.reconnect(changes)

    # -- AuthorizationKey, CentralSystemURI -------------------------------------------------------------------
    async def change_authorization_key(self, value: str) -> Reply:
        """Stored before the answer; with Basic auth in use (profiles 1, 2) the charge point then reconnects with
        it (libocpp: reply, then reconnect), else the next connect takes it."""
        status = self._ctx.cfg.change_configuration("AuthorizationKey", value)
        changes = {"authorization_key": self._ctx.cfg.get("AuthorizationKey")}
        if status != "Accepted":
            return Reply({"status": status})
        if (self._ctx.cfg.get("SecurityProfile") or 0) not in (1, 2):
            assert self._ctx.link_control is not None
            self._ctx.link_control.update(changes)
            return Reply({"status": status})
        return Reply({"status": status}, then=lambda: self._reconnect_logged(changes))

    def _central_system_uri_changed(self, _key: str, value: Any) -> Any:
        return self._reconnect_logged({"central_system_uri": value})

    async def _reconnect_logged(self, changes: dict[str, Any]) -> None:
        failure = await self._reconnect(changes)
        if failure is not None:
            log.warning("reconnect with new %s failed: %s", ", ".join(changes), failure)
