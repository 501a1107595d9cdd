"""Remote start and stop, and unlocking, as a CSMS operator does them (issue 7; OCTT TC_010 to TC_031)."""

from __future__ import annotations

from tests.e2e.flows import boot, charging, provided_token, stopped, wait_log, wait_status


async def test_tc_010_cs_remote_start_cable_first(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    await evse.plug_in()
    await wait_status(csms, 1, "Preparing", mark)

    assert await csms.remote_start(1, "RFID_REMOTE1") == {"status": "Accepted"}
    token = await provided_token(probe, "RFID_REMOTE1")
    assert token == {"id_token": {"value": "RFID_REMOTE1", "type": "Central"}, "authorization_type": "OCPP",
                     "prevalidated": True, "connectors": [1]}

    await evse.start_transaction("RFID_REMOTE1")
    start = await csms.wait_for("StartTransaction", after_index=mark)
    assert start["connectorId"] == 1 and start["idTag"] == "RFID_REMOTE1"
    await wait_status(csms, 1, "Charging", mark)
    assert csms.payloads("Authorize") == []  # prevalidated: the CSMS already vouched for the idTag


async def test_tc_011_1_cs_remote_start_first(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[2]
    mark = csms.mark()

    assert await csms.remote_start(2, "RFID_REMOTE2") == {"status": "Accepted"}
    token = await provided_token(probe, "RFID_REMOTE2")
    assert token["prevalidated"] is True and token["connectors"] == [2]

    transaction = await charging(csms, evse, "RFID_REMOTE2", plug_first=False)
    assert transaction.id_tag == "RFID_REMOTE2" and transaction.connector_id == 2
    statuses = [p["status"] for p in csms.payloads("StatusNotification", after_index=mark) if p["connectorId"] == 2]
    assert statuses == ["Preparing", "Charging"]


async def test_tc_011_1_cs_remote_start_without_connector_authorized_by_the_csms_when_configured(charger):
    """AuthorizeRemoteTxRequests: the token is not prevalidated, so auth validates it and an Authorize goes out."""
    charger.user_config = {"Core": {"AuthorizeRemoteTxRequests": True}}
    probe = await boot(charger)
    csms = charger.csms
    mark = csms.mark()

    assert await csms.remote_start(None, "RFID_REMOTE3") == {"status": "Accepted"}
    token = await provided_token(probe, "RFID_REMOTE3")
    assert token["prevalidated"] is False and "connectors" not in token

    result = await probe.validate("RFID_REMOTE3")
    assert result["authorization_status"] == "Accepted"
    assert (await csms.wait_for("Authorize", after_index=mark))["idTag"] == "RFID_REMOTE3"


async def test_tc_011_2_cs_remote_start_times_out_without_plug_in(charger):
    """The token is handed over and auth's connection timer (ConnectionTimeOut, pushed by OCPP) runs out before a
    car arrives: the connector goes back to Available and no transaction is started."""
    charger.user_config = {"Core": {"ConnectionTimeOut": 10}}
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    assert probe.called("auth", "set_connection_timeout")[-1] == {"connection_timeout": 10}
    mark = csms.mark()

    assert await csms.remote_start(1, "RFID_REMOTE1") == {"status": "Accepted"}
    await provided_token(probe, "RFID_REMOTE1")
    evse.session_id = "remote-start-session"
    await evse.event("SessionStarted", session_started={"reason": "Authorized", "meter_value": evse.reading()})
    await wait_status(csms, 1, "Preparing", mark)
    # The probe's auth module gives up waiting for the car (its timer is its own business, not OCPP's).
    await evse.event("PluginTimeout")
    await evse.event("SessionFinished", session_finished={"meter_value": evse.reading()})

    await wait_status(csms, 1, "Available", mark)
    statuses = [p["status"] for p in csms.payloads("StatusNotification", after_index=mark) if p["connectorId"] == 1]
    assert statuses == ["Preparing", "Finishing", "Available"]
    assert csms.payloads("StartTransaction", after_index=mark) == []


async def test_tc_012_cs_remote_stop(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    transaction = await charging(csms, evse)
    mark = csms.mark()

    assert await csms.remote_stop(transaction.transaction_id) == {"status": "Accepted"}
    assert (await probe.wait_call("evse_1", "stop_transaction"))["request"]["reason"] == "Remote"
    stop = await stopped(csms, transaction, mark)
    assert stop["reason"] == "Remote"
    await wait_status(csms, 1, "Finishing", mark)
    await evse.unplug()
    await wait_status(csms, 1, "Available", mark)


async def test_tc_026_cs_remote_start_rejected_on_unavailable_busy_or_unknown_connector(charger):
    probe = await boot(charger)
    csms = charger.csms
    assert await csms.change_availability(2, "Inoperative") == {"status": "Accepted"}
    await wait_status(csms, 2, "Unavailable")
    await charging(csms, probe.evses[1])

    assert await csms.remote_start(2, "RFID_UNAVAILABLE") == {"status": "Rejected"}
    assert await csms.remote_start(1, "RFID_BUSY") == {"status": "Rejected"}
    assert await csms.remote_start(3, "RFID_UNKNOWN") == {"status": "Rejected"}
    assert await csms.remote_start(None, "RFID_NOWHERE") == {"status": "Rejected"}
    assert probe.vars["token_provider.provided_token"] == []


async def test_tc_027_cs_remote_start_on_connector_zero_rejected(charger):
    probe = await boot(charger)
    assert await charger.csms.remote_start(0, "RFID_REMOTE1") == {"status": "Rejected"}
    assert probe.vars["token_provider.provided_token"] == []


async def test_tc_028_cs_remote_stop_of_unknown_transaction_rejected(charger):
    probe = await boot(charger)
    csms = charger.csms
    transaction = await charging(csms, probe.evses[1])

    assert await csms.remote_stop(transaction.transaction_id + 1000) == {"status": "Rejected"}
    assert probe.called("evse_1", "stop_transaction") == []


async def test_tc_017_cs_unlock_without_session(charger):
    probe = await boot(charger)
    assert await charger.csms.unlock(2) == {"status": "Unlocked"}
    assert probe.called("evse_2", "force_unlock") == [{"connector_id": 1}]
    assert probe.called("evse_2", "stop_transaction") == []


async def test_tc_018_cs_unlock_with_session_stops_the_transaction_first(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    transaction = await charging(csms, evse)
    mark = csms.mark()

    assert await csms.unlock(1) == {"status": "Unlocked"}
    assert probe.called("evse_1", "stop_transaction")[0]["request"]["reason"] == "UnlockCommand"
    assert probe.called("evse_1", "force_unlock") == [{"connector_id": 1}]
    assert (await stopped(csms, transaction, mark))["reason"] == "UnlockCommand"
    await wait_status(csms, 1, "Finishing", mark)


async def test_unlock_without_a_connector_lock_is_not_supported(charger):
    probe = await boot(charger)
    probe.results[("evse_1", "force_unlock")] = False
    assert await charger.csms.unlock(1) == {"status": "NotSupported"}


async def test_tc_030_cs_unlock_command_error_is_a_failure_not_a_hang(charger):
    probe = await boot(charger)

    def broken(_args):
        raise RuntimeError("lock motor driver not responding")

    probe.results[("evse_1", "force_unlock")] = broken
    assert await charger.csms.unlock(1) == {"status": "UnlockFailed"}
    await wait_log(charger, "probe.evse_1 force_unlock failed")


async def test_tc_031_cs_unlock_unknown_connector(charger):
    probe = await boot(charger)
    assert await charger.csms.unlock(3) == {"status": "NotSupported"}
    assert probe.called("evse_1", "force_unlock") == probe.called("evse_2", "force_unlock") == []
