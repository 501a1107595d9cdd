"""The Security whitepaper's state on the charge point: the security profile in use and its changes at run time,
the AuthorizationKey and CentralSystemURI reconnects, the certificate store (through SecurityPort), the charge
point certificate's renewal, and the signed firmware and log transfers (signed_transfers.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from module.core.context import CoreContext, command
from module.core.inputs import SessionEvent
from module.core.profile import Reply, ServiceBase
from module.core.profiles.core.security_events import SecurityEventService
from module.core.profiles.firmware.statuses import LOG, SIGNED_FIRMWARE
from module.core.profiles.remote_trigger.service import trigger_reply
from module.core.profiles.security.signed_transfers import SignedTransfers

log = logging.getLogger(__name__)

EXTENDED_TRIGGERS = ("BootNotification", "Heartbeat", "MeterValues", "StatusNotification")
"""What ExtendedTriggerMessage may ask of the other profiles' triggers. Its FirmwareStatusNotification and
LogStatusNotification are the security extension's (SignedFirmwareStatusNotification, LogStatusNotification of
GetLog), and SignChargePointCertificate is this service's."""
CSMS_ROOT = "CentralSystemRootCertificate"
RENEWAL_CHECK_S = 3600
"""How often the charge point certificate's remaining validity is looked at (while profile 3 uses it)."""
RENEWAL_DAYS = 30
"""A charge point certificate with fewer days left is renewed (SignCertificate); our choice, the whitepaper
leaves it open."""
TLS_FIELDS = ("ca_file", "ca_dir", "client_cert", "client_key", "client_key_password")
"""LinkSettings fields a profile switch replaces: what the old profile used must not linger."""


class SecurityService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.events = SecurityEventService(ctx)
        self.transfers = SignedTransfers(ctx, self.events)
        ctx.configuration_changes["SecurityProfile"] = self.change_security_profile
        ctx.configuration_changes["AuthorizationKey"] = self.change_authorization_key
        self._unsubscribe = [ctx.cfg.on_change("CentralSystemURI", self._central_system_uri_changed)]
        self._reported: set[str] = set()
        self._renewal: asyncio.Task[None] | None = None
        self._signing_retries: asyncio.Future[None] | None = None
        assert ctx.link_control is not None, "the charge point wires link_control before making services"
        ctx.link_control.on_failure(self._report_once)
        ctx.link_control.on_invalid_message(lambda what: self._report_once("InvalidMessages", what))
        ctx.connection_listeners.append(self._connection_changed)

    async def start(self) -> None:
        self._renewal = asyncio.ensure_future(self._watch_expiry())
        await self.transfers.start()

    async def stop(self) -> None:
        await self.transfers.stop()
        self._stop_signing_retries()
        if self._renewal is not None:
            self._renewal.cancel()
            await asyncio.gather(self._renewal, return_exceptions=True)
            self._renewal = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        await self.transfers.on_session_event(event)

    def take_over(self, previous: SecurityService) -> None:
        self.transfers.take_over(previous.transfers)

    # -- failed connections ---------------------------------------------------------------------------------
    def _report_once(self, event_type: str | None, detail: str) -> None:
        """A refused password, CSMS certificate, TLS version or cipher suite is a security event, reported once
        per failing streak (each attempt is logged by the link); InvalidMessages once per connection, so a CSMS
        that keeps sending them does not flood itself with events."""
        if event_type and event_type not in self._reported:
            self._reported.add(event_type)
            self._ctx.spawn(self.events.report(event_type, detail))

    def _connection_changed(self, connected: bool) -> None:
        if connected:
            self._reported.clear()

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
        """Stored before the answer; then the charge point reconnects with it, whatever the profile (libocpp:
        reply, then reconnect; EVerest's tests expect the reconnect under profile 0 too, where the new key is only
        kept for a later upgrade). A security parameter changed: ReconfigurationOfSecurityParameters (without the
        key)."""
        status = self._ctx.cfg.change_configuration("AuthorizationKey", value)
        changes = {"authorization_key": self._ctx.cfg.get("AuthorizationKey")}
        if status != "Accepted":
            return Reply({"status": status})

        async def reconnect() -> None:
            await self._authorization_key_changed()
            await self._reconnect_logged(changes)
        return Reply({"status": status}, then=reconnect)

    async def _authorization_key_changed(self) -> None:
        await self.events.report("ReconfigurationOfSecurityParameters", "AuthorizationKey changed")

    def _central_system_uri_changed(self, _key: str, value: Any) -> Any:
        return self._reconnect_logged({"central_system_uri": value})

    async def _reconnect_logged(self, changes: dict[str, Any]) -> None:
        failure = await self._reconnect(changes)
        if failure is not None:
            log.warning("reconnect with new %s failed: %s", ", ".join(changes), failure)

    # -- certificates ---------------------------------------------------------------------------------------
    async def install_certificate(self, certificate_type: str, certificate: str) -> str:
        """Rejected once CertificateStoreMaxLength roots are installed, and with AdditionalRootCertificateCheck a
        new CSMS root not signed by an installed one; else what the store says."""
        security = self._ctx.ports.security
        if certificate_type == CSMS_ROOT and self._ctx.cfg.get("AdditionalRootCertificateCheck") and \
                await command("is_ca_certificate_installed", security.csms_root_installed(), False) and \
                not await command("verify_certificate", security.signed_by_csms_root(certificate), False):
            log.info("InstallCertificate rejected: the new CSMS root is not signed by the installed one "
                     "(AdditionalRootCertificateCheck)")
            return "Rejected"
        maximum = self._ctx.cfg.get("CertificateStoreMaxLength")
        if maximum is not None:
            installed = 0
            for kind in ("CentralSystemRootCertificate", "ManufacturerRootCertificate"):
                installed += len(await command("get_installed_certificates", security.installed_certificates(kind),
                                               []))
            if installed >= maximum:
                log.info("InstallCertificate rejected: %d of CertificateStoreMaxLength %d installed", installed,
                         maximum)
                return "Rejected"
        return await command("install_ca_certificate", security.install_ca_certificate(certificate_type,
                                                                                        certificate), "Failed")

    async def delete_certificate(self, hash_data: dict[str, Any]) -> str:
        """The last CSMS root is kept while a TLS profile (2, 3) needs it: Failed."""
        security = self._ctx.ports.security
        if (self._ctx.cfg.get("SecurityProfile") or 0) >= 2:
            roots = await command("get_installed_certificates", security.installed_certificates(CSMS_ROOT), [])
            if len(roots) == 1 and _same_certificate(roots[0], hash_data):
                log.info("DeleteCertificate refused: the only CSMS root, and SecurityProfile needs it")
                return "Failed"
        return await command("delete_certificate", security.delete_certificate(hash_data), "Failed")

    async def installed_certificate_ids(self, certificate_type: str) -> dict[str, Any]:
        found = await command("get_installed_certificates",
                              self._ctx.ports.security.installed_certificates(certificate_type), [])
        if not found:
            return {"status": "NotFound"}
        return {"status": "Accepted", "certificateHashData": found}

    async def sign_certificate(self) -> None:
        """SignCertificate.req with a new CSR; while no CertificateSigned comes, sent again after
        CertSigningWaitMinimum seconds, the wait doubling each time, at most CertSigningRepeatTimes times."""
        self._stop_signing_retries()
        if await self._send_sign_certificate():
            self._signing_retries = asyncio.ensure_future(self._retry_signing())

    async def _send_sign_certificate(self) -> bool:
        """SignCertificate.req with a new CSR for the charge point certificate (organization CpoName); True when
        the CSMS accepted it."""
        cfg = self._ctx.cfg
        organization = cfg.get("CpoName") or cfg.get("SeccLeafSubjectOrganization")
        if not organization:
            log.warning("no SignCertificate: CpoName is not set")
            return False
        common_name = cfg.get("SeccLeafSubjectCommonName") or cfg.get("ChargeBoxSerialNumber") or \
            cfg.get("ChargePointId")
        csr = await command("generate_certificate_signing_request", self._ctx.ports.security
                            .certificate_signing_request(organization, common_name,
                                                         cfg.get("SeccLeafSubjectCountry") or ""), None)
        if csr is None:
            log.warning("no SignCertificate: the certificate store made no CSR")
            return False
        answer = await self._ctx.send("SignCertificate", {"csr": csr}, triggered=True)
        if answer is None or answer.get("status") != "Accepted":
            log.warning("the CSMS did not accept SignCertificate")
            return False
        return True

    async def _retry_signing(self) -> None:
        wait = self._ctx.cfg.get("CertSigningWaitMinimum") or 0
        repeat = self._ctx.cfg.get("CertSigningRepeatTimes") or 0
        for attempt in range(repeat if wait > 0 else 0):
            await self._ctx.clock.sleep(wait * 2 ** attempt)
            log.info("no CertificateSigned after SignCertificate: sending it again (%d of %d)", attempt + 1, repeat)
            if not await self._send_sign_certificate():
                return

    def _stop_signing_retries(self) -> None:
        if self._signing_retries is not None:
            self._signing_retries.cancel()
            self._signing_retries = None

    async def certificate_signed(self, chain: str) -> Reply:
        """Checked (CertificateSignedMaxChainSize, then the store verifies chain and key) and installed; the next
        profile 3 connection uses it, at once when profile 3 is in use. Refused: InvalidChargePointCertificate."""
        self._stop_signing_retries()
        maximum = self._ctx.cfg.get("CertificateSignedMaxChainSize")
        if maximum is not None and len(chain) > maximum:
            result = f"chain of {len(chain)} characters, CertificateSignedMaxChainSize {maximum}"
        else:
            result = await command("update_leaf_certificate",
                                   self._ctx.ports.security.install_client_certificate(chain), "Failed")
        if result != "Accepted":
            return Reply({"status": "Rejected"},
                         then=lambda: self.events.report("InvalidChargePointCertificate", result))
        if (self._ctx.cfg.get("SecurityProfile") or 0) == 3:
            return Reply({"status": "Accepted"}, then=self._reconnect_with_new_certificate)
        return Reply({"status": "Accepted"})

    async def _reconnect_with_new_certificate(self) -> None:
        failure = await self._connect_with(3)
        if failure is not None:
            log.warning("reconnect with the new charge point certificate failed: %s", failure)

    async def _watch_expiry(self) -> None:
        """While profile 3 is in use and the CSMS is reachable, a certificate near its end is renewed."""
        while True:
            await self._ctx.clock.sleep(RENEWAL_CHECK_S)
            if (self._ctx.cfg.get("SecurityProfile") or 0) != 3 or not self._ctx.online():
                continue
            days = await command("get_leaf_expiry_days_count",
                                 self._ctx.ports.security.client_certificate_days_left(), RENEWAL_DAYS)
            if days < RENEWAL_DAYS:
                log.info("the charge point certificate expires in %d days: renewing it", days)
                await self.sign_certificate()

    def extended_trigger(self, requested: str, connector_id: int | None) -> Reply:
        """TriggerMessage's rules over what the other profiles send, and SignChargePointCertificate."""
        triggers = {name: send for name, send in self._ctx.triggers.items() if name in EXTENDED_TRIGGERS}
        triggers["SignChargePointCertificate"] = lambda _connector_id: self.sign_certificate()
        triggers["FirmwareStatusNotification"] = lambda _connector_id: self.transfers.trigger(SIGNED_FIRMWARE)
        triggers["LogStatusNotification"] = lambda _connector_id: self.transfers.trigger(LOG)
        return trigger_reply(self._ctx, triggers, requested, connector_id)


def _same_certificate(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Hash data of one certificate: the hashes case-insensitive, the serial number without leading zeros."""
    return (a["issuerNameHash"].lower() == b["issuerNameHash"].lower()
            and a["issuerKeyHash"].lower() == b["issuerKeyHash"].lower()
            and a["serialNumber"].lstrip("0").lower() == b["serialNumber"].lstrip("0").lower())
