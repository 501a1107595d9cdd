"""Reset from the CSMS: asked of the system module, transactions stopped and confirmed first (TC_013 to TC_016)."""

from __future__ import annotations

import asyncio
from typing import Any

from sim.csms.records import CALLRESULT, DISCONNECTED
from tests.e2e.flows import boot, charging, stopped, wait_log


def stop_confirmations(csms) -> int:
    return len(csms.payloads("StopTransaction", direction="out", kind=CALLRESULT))


async def wait_disconnected(csms, after: int) -> None:
    await csms.wait_for_record(lambda r: r.kind == DISCONNECTED, after_index=after)


async def reset_without_transaction(charger, reset_type: str) -> None:
    probe = await boot(charger)
    csms = charger.csms
    mark = csms.mark()

    assert await csms.reset(reset_type) == {"status": "Accepted"}
    assert probe.called("system", "is_reset_allowed") == [{"type": reset_type}]
    assert await probe.wait_call("system", "reset") == {"type": reset_type, "scheduled": False}
    await wait_disconnected(csms, mark)  # the OCPP side stopped before the system reset
    assert csms.payloads("StopTransaction") == []


async def reset_with_transaction(charger, reset_type: str) -> None:
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    transaction = await charging(csms, evse)
    confirmed_at_reset: list[int] = []

    async def slow_stop_answer(payload: dict[str, Any], _cp_id: str) -> dict[str, Any]:
        await asyncio.sleep(0.3)  # a slow CSMS: the reset must wait for this answer
        return {"idTagInfo": {"status": "Accepted"}}

    csms.set_handler("StopTransaction", slow_stop_answer)
    probe.results[("system", "reset")] = lambda _args: confirmed_at_reset.append(stop_confirmations(csms))
    mark = csms.mark()

    assert await csms.reset(reset_type) == {"status": "Accepted"}
    assert (await probe.wait_call("evse_1", "stop_transaction"))["request"]["reason"] == f"{reset_type}Reset"
    assert (await stopped(csms, transaction, mark))["reason"] == f"{reset_type}Reset"
    assert await probe.wait_call("system", "reset") == {"type": reset_type, "scheduled": False}
    assert confirmed_at_reset == [1]
    await wait_disconnected(csms, mark)


async def test_tc_013_cs_hard_reset_without_transaction(charger):
    await reset_without_transaction(charger, "Hard")


async def test_tc_014_cs_soft_reset_without_transaction(charger):
    await reset_without_transaction(charger, "Soft")


async def test_tc_015_cs_hard_reset_with_transaction(charger):
    await reset_with_transaction(charger, "Hard")


async def test_tc_016_cs_soft_reset_with_transaction(charger):
    await reset_with_transaction(charger, "Soft")


async def test_tc_016_cs_reset_goes_ahead_when_stop_transaction_is_not_confirmed_in_time(charger):
    """WaitForStopTransactionsOnResetTimeout bounds the wait for an unanswered StopTransaction."""
    from sim.csms.replies import NO_REPLY

    charger.user_config = {"Internal": {"WaitForStopTransactionsOnResetTimeout": 1}}
    probe = await boot(charger)
    csms = charger.csms
    await charging(csms, probe.evses[1])
    csms.set_handler("StopTransaction", NO_REPLY)

    assert await csms.reset("Soft") == {"status": "Accepted"}
    await csms.wait_for("StopTransaction")
    await probe.wait_call("system", "reset", timeout=10)
    assert stop_confirmations(csms) == 0


async def test_tc_013_cs_reset_refused_by_the_system_module(charger):
    probe = await boot(charger)
    probe.results[("system", "is_reset_allowed")] = False
    await charging(charger.csms, probe.evses[1])

    assert await charger.csms.reset("Hard") == {"status": "Rejected"}
    assert probe.called("evse_1", "stop_transaction") == []
    assert probe.called("system", "reset") == []


async def test_tc_013_cs_reset_rejected_when_the_system_module_fails(charger):
    probe = await boot(charger)

    def broken(_args):
        raise RuntimeError("system module busy")

    probe.results[("system", "is_reset_allowed")] = broken
    assert await charger.csms.reset("Soft") == {"status": "Rejected"}
    assert probe.called("system", "reset") == []
    await wait_log(charger, "probe.system is_reset_allowed failed")
