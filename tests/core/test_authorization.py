"""The authorization rules (module/core/authorization.py) on plain tables: order, offline rules, expiry, feeding."""

from datetime import UTC, datetime, timedelta

from module.core.authorization import AuthorizationSettings, Authorizer
from module.impl.validation import validation_result

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PAST = (NOW - timedelta(days=1)).isoformat()
FUTURE = (NOW + timedelta(days=1)).isoformat()


class Table(dict):
    """A cache or a local list in memory; `used` is False for a list that is switched off."""

    used = True

    def put(self, id_tag, info):
        self[id_tag] = info

    def clear(self):
        super().clear()

    def enabled(self):
        return self.used


def make(online=True, answer=None, **flags):
    settings = AuthorizationSettings(**{"local_pre_authorize": False, "local_authorize_offline": False,
                                        "allow_offline_tx_for_unknown_id": False, "cache_enabled": True, **flags})
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
    cache["TAG"] = {"status": "Accepted", "expiryDate": FUTURE}
    assert (await authorizer.authorize("TAG"))["status"] == "Accepted"
    assert sent == []


async def test_online_pre_authorize_starts_at_once_on_a_valid_list_entry():
    authorizer, _, local_list, sent = make(local_pre_authorize=True, cache_enabled=False)
    local_list["LISTED"] = {"status": "Accepted", "parentIdTag": "GROUP"}
    assert await authorizer.authorize("LISTED") == {"status": "Accepted", "parentIdTag": "GROUP"}
    assert sent == []


async def test_expired_cache_entry_goes_to_csms():
    authorizer, cache, _, sent = make(local_pre_authorize=True, answer={"status": "Blocked"})
    cache["TAG"] = {"status": "Accepted", "expiryDate": PAST}
    assert (await authorizer.authorize("TAG"))["status"] == "Blocked"
    assert sent == ["TAG"]


async def test_cached_entry_that_is_not_valid_is_asked_about_again_online():
    authorizer, cache, _, sent = make(local_pre_authorize=True, answer={"status": "Accepted"})
    cache["TAG"] = {"status": "Blocked"}
    assert (await authorizer.authorize("TAG"))["status"] == "Accepted"
    assert sent == ["TAG"] and cache["TAG"] == {"status": "Accepted"}


async def test_offline_expired_cache_entry_is_refused_and_marked_expired_in_the_cache():
    authorizer, cache, _, _ = make(online=False, local_authorize_offline=True, allow_offline_tx_for_unknown_id=True)
    cache["TAG"] = {"status": "Accepted", "expiryDate": PAST}
    assert (await authorizer.authorize("TAG"))["status"] == "Expired"
    assert cache["TAG"] == {"status": "Expired", "expiryDate": PAST}


async def test_offline_local_list_then_unknown_rule():
    authorizer, _, local_list, sent = make(online=False, local_authorize_offline=True)
    local_list["LISTED"] = {"status": "Accepted"}
    assert (await authorizer.authorize("LISTED"))["status"] == "Accepted"
    assert (await authorizer.authorize("UNKNOWN"))["status"] == "Invalid"
    assert sent == []


async def test_offline_unknown_accepted_when_allowed():
    authorizer, *_ = make(online=False, allow_offline_tx_for_unknown_id=True)
    assert (await authorizer.authorize("ANY"))["status"] == "Accepted"


async def test_offline_known_invalid_ids_are_never_unknown():
    """1.6 section 3.5.4: list entries other than Accepted, and expired ones, are refused even when unknown ids may
    start offline, and even when LocalAuthorizeOffline is off."""
    authorizer, cache, local_list, _ = make(online=False, allow_offline_tx_for_unknown_id=True)
    local_list["BLOCKED"] = {"status": "Blocked"}
    local_list["OLD"] = {"status": "Accepted", "expiryDate": PAST}
    cache["STOLEN"] = {"status": "Invalid"}
    assert (await authorizer.authorize("BLOCKED"))["status"] == "Blocked"
    assert (await authorizer.authorize("OLD"))["status"] == "Expired"
    assert (await authorizer.authorize("STOLEN"))["status"] == "Invalid"
    assert (await authorizer.authorize("NEW"))["status"] == "Accepted"
    assert local_list["OLD"] == {"status": "Accepted", "expiryDate": PAST}  # the list is never changed locally


async def test_list_entry_status_wins_over_the_cache():
    authorizer, cache, local_list, sent = make(local_pre_authorize=True, local_authorize_offline=True)
    local_list["TAG"] = {"status": "Blocked"}
    cache["TAG"] = {"status": "Accepted"}
    assert (await authorizer.authorize("TAG"))["status"] == "Blocked"
    assert sent == []


async def test_a_list_that_is_switched_off_is_not_consulted():
    authorizer, _, local_list, _ = make(online=False, local_authorize_offline=True)
    local_list["TAG"] = {"status": "Accepted"}
    local_list.used = False
    assert (await authorizer.authorize("TAG"))["status"] == "Invalid"


async def test_a_cache_that_is_switched_off_is_neither_read_nor_fed():
    authorizer, cache, _, _ = make(online=True, answer={"status": "Accepted"}, cache_enabled=False,
                                   local_authorize_offline=True)
    assert (await authorizer.authorize("TAG"))["status"] == "Accepted"
    assert cache == {}
    cache["OLD"] = {"status": "Accepted"}
    authorizer.remember("OLD", {"status": "Blocked"})
    assert cache == {"OLD": {"status": "Accepted"}}


async def test_csms_answers_feed_the_cache_never_the_list_nor_for_listed_ids():
    authorizer, cache, local_list, _ = make(answer={"status": "Blocked"})
    local_list["LISTED"] = {"status": "Accepted"}
    assert (await authorizer.authorize("LISTED"))["status"] == "Blocked"  # without LocalPreAuthorize: the CSMS
    authorizer.remember("OTHER", {"status": "Accepted", "parentIdTag": "GROUP"})
    assert local_list == {"LISTED": {"status": "Accepted"}}
    assert cache == {"OTHER": {"status": "Accepted", "parentIdTag": "GROUP"}}


async def test_csms_silent_falls_back_to_offline_rules():
    authorizer, cache, _, sent = make(online=True, answer=None, local_authorize_offline=True)
    cache["TAG"] = {"status": "Accepted"}
    assert (await authorizer.authorize("TAG"))["status"] == "Accepted"
    assert sent == ["TAG"]


def test_validation_result_has_required_tariff_messages_and_parent():
    result = validation_result({"status": "Accepted", "parentIdTag": "PARENT", "expiryDate": "2030-01-01T00:00:00Z"})
    assert result == {"authorization_status": "Accepted", "tariff_messages": [],
                      "expiry_time": "2030-01-01T00:00:00Z", "parent_id_token": {"value": "PARENT", "type": "Central"}}
