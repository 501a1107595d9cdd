"""GetConfiguration / ChangeConfiguration / internal set, hooks, persistence and the AuthorizationKey rules."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace

import pytest
from config_testkit import SECRET

from module.config.errors import ConfigError, TooManyKeysError
from module.config.keys import KEYS_BY_NAME


def _user(path) -> dict:
    return json.loads(path.read_text())


WITHOUT_LOCAL_LIST = {"Core": {"SupportedFeatureProfiles": "Core,RemoteTrigger"}}


def test_get_all_keys_reports_supported_profiles_only(load):
    assert "LocalAuthListEnabled" in [kv["key"] for kv in load().get_configuration()[0]]
    cfg = load(WITHOUT_LOCAL_LIST)
    keys, unknown = cfg.get_configuration()
    names = [kv["key"] for kv in keys]
    assert unknown == []
    assert "HeartbeatInterval" in names and "ChargePointId" in names and "SecurityProfile" in names
    assert "LocalAuthListEnabled" not in names  # LocalAuthListManagement not in SupportedFeatureProfiles
    assert "AuthorizationKey" not in names
    assert "BlinkRepeat" not in names  # optional and absent: not supported
    assert all(isinstance(kv.get("value", ""), str) and isinstance(kv["readonly"], bool) for kv in keys)
    by_name = {kv["key"]: kv for kv in keys}
    assert by_name["HeartbeatInterval"] == {"key": "HeartbeatInterval", "readonly": False, "value": "86400"}
    assert by_name["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "2"}
    assert by_name["StopTransactionOnEVSideDisconnect"]["value"] == "true"
    assert by_name["SupportedCiphers13"]["value"] == "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256"


def test_get_listed_keys_with_unknown_ones(load):
    cfg = load(WITHOUT_LOCAL_LIST)
    keys, unknown = cfg.get_configuration(["HeartbeatInterval", "NoSuchKey", "LocalAuthListEnabled", "BlinkRepeat"])
    assert keys == [{"key": "HeartbeatInterval", "readonly": False, "value": "86400"}]
    assert unknown == ["NoSuchKey", "LocalAuthListEnabled", "BlinkRepeat"]


def test_key_names_are_compared_without_case_as_ocpp_cistrings(load):
    cfg = load(WITHOUT_LOCAL_LIST)
    assert cfg.change_configuration("connectiontimeout", "42") == "Accepted"
    keys, unknown = cfg.get_configuration(["CONNECTIONTIMEOUT", "heartbeatinterval"])
    assert [(kv["key"], kv["value"]) for kv in keys] == [("ConnectionTimeOut", "42"), ("HeartbeatInterval", "86400")]
    assert unknown == []


def test_get_more_keys_than_allowed_is_a_property_constraint_violation(load):
    cfg = load({"Core": {"GetConfigurationMaxKeys": 2}})
    with pytest.raises(TooManyKeysError) as caught:
        cfg.get_configuration(["HeartbeatInterval", "ResetRetries", "ConnectionTimeOut"])
    assert caught.value.ocpp_error_code == "PropertyConstraintViolation"
    assert len(cfg.get_configuration(["HeartbeatInterval", "ResetRetries"])[0]) == 2
    assert len(cfg.get_configuration(None)[0]) > 2
    assert len(cfg.get_configuration([])[0]) > 2


def test_change_unknown_and_unsupported_keys(load):
    cfg = load(WITHOUT_LOCAL_LIST)
    assert cfg.change_configuration("NoSuchKey", "1") == "NotSupported"
    assert cfg.change_configuration("LocalAuthListEnabled", "true") == "NotSupported"  # profile not supported
    assert cfg.change_configuration("BlinkRepeat", "3") == "NotSupported"  # optional key absent


def test_change_read_only_is_rejected(load, user_path):
    cfg = load()
    assert cfg.change_configuration("NumberOfConnectors", "3") == "Rejected"
    assert cfg.change_configuration("SupportedFeatureProfiles", "Core") == "Rejected"
    assert cfg.change_configuration("ChargePointId", "other") == "Rejected"
    assert _user(user_path) == {}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HeartbeatInterval", "-1"),
        ("HeartbeatInterval", "sixty"),
        ("HeartbeatInterval", "1.5"),
        ("HeartbeatInterval", "2147483648"),
        ("LocalPreAuthorize", "yes"),
        ("MeterValuesSampledData", "Energy.Bogus"),
        ("MeterValuesSampledData", "RPM"),
        ("MeterValuesSampledData", "SoC,,Voltage"),
        ("ConnectorPhaseRotation", "0.XYZ"),
        ("ConnectorPhaseRotation", "5.RST"),
        ("SecurityProfile", "4"),
        ("CompositeScheduleDefaultNumberPhases", "0"),
        ("CompositeScheduleDefaultLimitWatts", "inf"),
        ("HeartbeatInterval", "1" * 501),
    ],
)
def test_change_invalid_value_is_rejected_and_not_stored(load, user_path, key, value):
    cfg = load()
    before = cfg.get(key)
    assert cfg.change_configuration(key, value) == "Rejected"
    assert cfg.get(key) == before
    assert _user(user_path) == {}


def test_change_accepted_is_applied_and_stored_before_returning(load, user_path, base_copy):
    cfg = load()
    base_bytes = base_copy.read_bytes()
    seen = []

    def hook(key, value):
        seen.append((key, value, _user(user_path)["Core"]["MeterValuesSampledData"]))

    cfg.on_change("MeterValuesSampledData", hook)
    assert cfg.change_configuration("MeterValuesSampledData", "Energy.Active.Import.Register, SoC") == "Accepted"
    assert cfg.get("MeterValuesSampledData") == ["Energy.Active.Import.Register", "SoC"]
    assert seen == [("MeterValuesSampledData", ["Energy.Active.Import.Register", "SoC"],
                     "Energy.Active.Import.Register,SoC")]
    assert cfg.change_configuration("LocalPreAuthorize", "TRUE") == "Accepted"
    assert _user(user_path)["Core"]["LocalPreAuthorize"] is True
    assert cfg.change_configuration("CompositeScheduleDefaultLimitAmps", "16.5") == "Accepted"
    assert cfg.get("CompositeScheduleDefaultLimitAmps") == 16.5
    assert cfg.change_configuration("RetryBackoffWaitMinimum", "7") == "Accepted"
    assert base_copy.read_bytes() == base_bytes


def test_change_needing_reboot_is_stored(load, user_path, monkeypatch):
    """No shipped key needs a reboot today; a key flagged so answers RebootRequired and is stored."""
    monkeypatch.setitem(KEYS_BY_NAME, "ConnectionTimeOut", replace(KEYS_BY_NAME["ConnectionTimeOut"], reboot=True))
    cfg = load()
    assert cfg.change_configuration("ConnectionTimeOut", "42") == "RebootRequired"
    assert _user(user_path)["Core"]["ConnectionTimeOut"] == 42
    assert cfg.change_configuration("ConnectionTimeOut", "-1") == "Rejected"


def test_unsubscribe_and_any_change_subscription(load):
    cfg = load()
    calls, all_calls = [], []
    unsubscribe = cfg.on_change("HeartbeatInterval", lambda key, value: calls.append(value))
    cfg.on_any_change(lambda key, value: all_calls.append((key, value)))
    cfg.change_configuration("HeartbeatInterval", "10")
    unsubscribe()
    cfg.change_configuration("HeartbeatInterval", "20")
    assert calls == [10]
    assert all_calls == [("HeartbeatInterval", 10), ("HeartbeatInterval", 20)]


def test_failing_hook_does_not_undo_the_change(load, user_path):
    cfg = load()

    def broken(key, value):
        raise RuntimeError("boom")

    cfg.on_change("HeartbeatInterval", broken)
    assert cfg.change_configuration("HeartbeatInterval", "15") == "Accepted"
    assert _user(user_path)["Core"]["HeartbeatInterval"] == 15


async def test_async_hooks_run_on_the_loop(load):
    cfg = load()
    done = asyncio.Event()

    async def hook(key, value):
        done.set()

    cfg.on_change("WebSocketPingInterval", hook)
    assert cfg.change_configuration("WebSocketPingInterval", "30") == "Accepted"
    await asyncio.wait_for(done.wait(), 5)


def test_internal_set_goes_the_same_way(load, user_path):
    cfg = load()
    seen = []
    cfg.on_change("HeartbeatInterval", lambda key, value: seen.append(value))
    cfg.set("HeartbeatInterval", 300)
    assert cfg.get("HeartbeatInterval") == 300 and seen == [300]
    assert _user(user_path)["Core"]["HeartbeatInterval"] == 300
    cfg.set("ChargePointVendor", "Vendor2")  # read-only for the CSMS, writable internally
    with pytest.raises(ConfigError) as caught:
        cfg.set("HeartbeatInterval", -3)
    assert str(caught.value) == f"{user_path}: section Core, key HeartbeatInterval, value -3: must be >= 0"
    with pytest.raises(ConfigError):
        cfg.set("NoSuchKey", 1)


def test_restart_keeps_changed_values(load, user_path):
    cfg = load()
    cfg.change_configuration("HeartbeatInterval", "123")
    cfg.change_configuration("StopTxnSampledData", "Energy.Active.Import.Register,Voltage")
    cfg.set("ChargePointVendor", "Vendor2")
    again = load()
    assert again.get("HeartbeatInterval") == 123
    assert again.get("StopTxnSampledData") == ["Energy.Active.Import.Register", "Voltage"]
    assert again.get("ChargePointVendor") == "Vendor2"


def test_custom_keys_are_read_only_and_string_lengths_hold(load, libocpp_copy):
    cfg = load(base=libocpp_copy)
    assert cfg.change_configuration("ExampleConfigurationKey", "other") == "Rejected"
    assert cfg.change_configuration("CpoName", "x" * 65) == "Rejected"
    assert cfg.change_configuration("CpoName", "x" * 64) == "Accepted"


def test_authorization_key_is_write_only_and_never_echoed(load, user_path, caplog):
    caplog.set_level(logging.DEBUG)
    cfg = load()
    seen = []
    cfg.on_any_change(lambda key, value: seen.append(value))
    assert cfg.change_configuration("AuthorizationKey", "short") == "Rejected"
    assert cfg.change_configuration("AuthorizationKey", SECRET) == "Accepted"
    assert cfg.get("AuthorizationKey") == SECRET
    assert _user(user_path)["Security"]["AuthorizationKey"] == SECRET
    assert "AuthorizationKey" not in [kv["key"] for kv in cfg.get_configuration()[0]]
    assert cfg.get_configuration(["AuthorizationKey"]) == ([], ["AuthorizationKey"])
    assert cfg.key_value("AuthorizationKey") is None
    assert seen == ["<hidden>"]
    with pytest.raises(ConfigError) as caught:
        cfg.set("AuthorizationKey", "S3cret")
    assert "S3cret" not in str(caught.value)
    assert cfg.change_configuration("AuthorizationKey", "x" * 41 + SECRET) == "Rejected"
    assert SECRET not in caplog.text and "S3cret" not in caplog.text and "short" not in caplog.text
    assert "AuthorizationKey" in caplog.text


def test_hex_authorization_key_is_decoded(load):
    cfg = load()
    assert cfg.change_configuration("AuthorizationKey", SECRET.encode().hex()) == "Accepted"
    assert cfg.get("AuthorizationKey") == SECRET


def test_security_profile_needs_a_key(load):
    """Only a downgrade is the Security profile's to refuse (tests/core TC_084): a fallback sets the profile
    back."""
    cfg = load()
    assert cfg.change_configuration("SecurityProfile", "1") == "Rejected"
    assert cfg.change_configuration("AuthorizationKey", SECRET) == "Accepted"
    assert cfg.change_configuration("SecurityProfile", "1") == "Accepted"
    cfg.set("SecurityProfile", 0)
    assert cfg.get("SecurityProfile") == 0


def test_cpo_name_without_a_value_is_reported_and_may_be_set(load):
    """libocpp reports CpoName with no value when the files give none, and takes it from the CSMS (EVerest's
    test_chargepoint_update_certificate sets it before asking for a SignCertificate)."""
    cfg = load()
    assert cfg.get_configuration(["CpoName"]) == ([{"key": "CpoName", "readonly": False}], [])
    assert cfg.change_configuration("CpoName", "VENID") == "Accepted"
    assert cfg.get_configuration(["CpoName"]) == ([{"key": "CpoName", "readonly": False, "value": "VENID"}], [])
