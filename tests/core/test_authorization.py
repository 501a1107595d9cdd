from datetime import UTC, datetime, timedelta

from module.core.authorization import AuthorizationSettings, Authorizer
from module.impl.validation import validation_result

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Table(dict):
    def put(self, id_tag, info):
        self[id_tag] = info

    def clear(self):
        super().clear()


def make(online=True, answer=None, **flags):
    settings = AuthorizationSettings(**{"local_pre_authorize": False, "local_authorize_offline": False,
                                        "allow_offline_tx_for_unknown_id": False, "cache_enabled": True,
                                        "local_list_enabled": True, **flags})
    sent = []

    async def send(id_tag):
        sent.append(id_tag)
        return answer

    cache, local_list = Table(), Table()
    authorizer = Authorizer(lambda: settings, cache, local_list, lambda: online, send, now=lambda: NOW)
    return authorizer, cache, local_list, sent


async def test_online_without_pre_authorize_asks_csms_and_caches():
    authorizer, cache, _, sent = make(answer={"status": "Accepted"})
    assert (await authorizer.authorize("TAG"))["status"] == "Accepted"
    assert sent == ["TAG"] and cache["TAG"] == {"status": "Accepted"}


async def test_online_pre_authorize_uses_valid_cache_entry_without_csms():
    authorizer, cache, _, sent = make(local_pre_authorize=True)
    cache["TAG"] = {"status": "Accepted", "expiryDate": (NOW + timedelta(days=1)).isoformat()}
    assert (await authorizer.authorize("TAG"))["status"] == "Accepted"
    assert sent == []


async def test_expired_cache_entry_goes_to_csms():
    authorizer, cache, _, sent = make(local_pre_authorize=True, answer={"status": "Blocked"})
    cache["TAG"] = {"status": "Accepted", "expiryDate": (NOW - timedelta(days=1)).isoformat()}
    assert (await authorizer.authorize("TAG"))["status"] == "Blocked"
    assert sent == ["TAG"]


async def test_offline_local_list_then_unknown_rule():
    authorizer, _, local_list, sent = make(online=False, local_authorize_offline=True)
    local_list["LISTED"] = {"status": "Accepted"}
    assert (await authorizer.authorize("LISTED"))["status"] == "Accepted"
    assert (await authorizer.authorize("UNKNOWN"))["status"] == "Invalid"
    assert sent == []


async def test_offline_unknown_accepted_when_allowed():
    authorizer, *_ = make(online=False, allow_offline_tx_for_unknown_id=True)
    assert (await authorizer.authorize("ANY"))["status"] == "Accepted"


async def test_csms_silent_falls_back_to_offline_rules():
    authorizer, cache, _, sent = make(online=True, answer=None, local_authorize_offline=True)
    cache["TAG"] = {"status": "Accepted"}
    assert (await authorizer.authorize("TAG"))["status"] == "Accepted"
    assert sent == ["TAG"]


def test_validation_result_has_required_tariff_messages_and_parent():
    result = validation_result({"status": "Accepted", "parentIdTag": "PARENT", "expiryDate": "2030-01-01T00:00:00Z"})
    assert result == {"authorization_status": "Accepted", "tariff_messages": [],
                      "expiry_time": "2030-01-01T00:00:00Z", "parent_id_token": {"value": "PARENT", "type": "Central"}}
