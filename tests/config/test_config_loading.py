"""Loading: base + user merge patch, schema and registry checks, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_testkit import SECRET, write_json

from module.config.errors import ConfigError
from module.config.loader import ensure_folders, load_config, merge_patch


def _error(load, user_doc, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        load(user_doc, **kwargs)
    text = str(caught.value)
    assert "\n" not in text
    return text


def test_base_boots_with_only_identity_and_uri_overridden(load, user_path):
    cfg = load({"Internal": {"ChargePointId": "cp-7", "CentralSystemURI": "csms.example:9000/ocpp"}})
    assert cfg.get("ChargePointId") == "cp-7"
    assert cfg.get("SecurityProfile") == 0
    assert cfg.get("AuthorizationKey") is None
    assert cfg.get("SupportedFeatureProfiles") == ["Core", "FirmwareManagement", "LocalAuthListManagement",
                                                   "RemoteTrigger", "Reservation", "SmartCharging"]
    assert cfg.supported_profiles == {"Core", "FirmwareManagement", "LocalAuthListManagement", "RemoteTrigger",
                                      "Reservation", "SmartCharging"}
    assert cfg.get("NumberOfConnectors") == 2
    assert cfg.get("WebsocketPingPayload") == "hello there"  # default filled
    assert cfg.get("HeartbeatInterval") == 86400
    assert cfg.get("StopTxnSampledData") == ["Energy.Active.Import.Register"]


def test_missing_user_config_is_created_empty(load, user_path):
    assert not user_path.exists()
    load()
    assert json.loads(user_path.read_text()) == {}


def test_libocpp_style_config_loads_unchanged(load, libocpp_copy):
    cfg = load(base=libocpp_copy, number_of_connectors=2)
    assert cfg.supported_profiles == {
        "Core", "FirmwareManagement", "RemoteTrigger", "Reservation", "LocalAuthListManagement", "SmartCharging"
    }
    assert cfg.get("AuthorizationKey") == SECRET
    assert cfg.get("SecurityProfile") == 1
    assert cfg.get("LogMessagesFormat") == ["html", "security"]
    assert cfg.get("ConnectorEvseIds") == ["DE*PNX*E00042*1", "DE*PNX*E00042*2"]
    reported = {kv["key"]: kv for kv in cfg.get_configuration()[0]}
    assert reported["ExampleConfigurationKey"] == {"key": "ExampleConfigurationKey", "readonly": True,
                                                   "value": "example"}
    assert reported["ISO15118PnCEnabled"]["value"] == "true"
    assert reported["CustomDisplayCostAndPrice"]["value"] == "false"
    assert reported["LocalAuthListMaxLength"]["value"] == "42"


def test_implemented_profiles_limit_the_advertised_ones(load, libocpp_copy):
    cfg = load(base=libocpp_copy, implemented_profiles={"Core", "RemoteTrigger", "SmartCharging"})
    assert cfg.supported_profiles == {"Core", "RemoteTrigger", "SmartCharging"}
    assert cfg.key_value("SupportedFeatureProfiles")["value"] == "Core,RemoteTrigger,SmartCharging"
    assert cfg.key_value("LocalAuthListEnabled") is None


def test_broken_json_in_user_config(load, user_path):
    user_path.parent.mkdir(parents=True)
    user_path.write_text('{"Core": {"HeartbeatInterval": 60,}}')
    text = _error(load, None)
    assert text.startswith(str(user_path))
    assert "invalid JSON at line 1 column" in text


def test_broken_json_in_base(load, base_copy):
    base_copy.write_text(base_copy.read_text()[:-5])
    text = _error(load, {})
    assert str(base_copy) in text and "invalid JSON" in text


def test_schema_violation_names_file_section_key_value_rule(load, user_path):
    text = _error(load, {"Core": {"HeartbeatInterval": -5}})
    assert text == f"{user_path}: section Core, key HeartbeatInterval, value -5: must be >= 0"


def test_wrong_type_in_base_names_the_base_file(load, base_copy):
    document = json.loads(base_copy.read_text())
    document["Core"]["LocalPreAuthorize"] = "yes"
    write_json(base_copy, document)
    text = _error(load, {})
    assert text == f"{base_copy}: section Core, key LocalPreAuthorize, value 'yes': must be of type boolean"


def test_unknown_section(load, user_path):
    text = _error(load, {"Cores": {"HeartbeatInterval": 60}})
    assert text.startswith(f"{user_path}: section Cores, key -, value -: unknown section")


def test_unknown_key_and_key_in_wrong_section(load, user_path):
    assert "key HeartbeatIntervall" in _error(load, {"Core": {"HeartbeatIntervall": 60}})
    text = _error(load, {"Internal": {"HeartbeatInterval": 60}})
    assert "section Internal, key HeartbeatInterval" in text and "belongs to section Core" in text


def test_custom_key_may_not_shadow_a_standard_key(load):
    text = _error(load, {"Custom": {"HeartbeatInterval": 5}})
    assert "section Custom, key HeartbeatInterval" in text and "shadows the standard key of section Core" in text


def test_required_key_deleted_by_merge_patch_null(load, user_path):
    text = _error(load, {"Core": {"HeartbeatInterval": None}})
    assert "section Core, key HeartbeatInterval, value -: required key missing" in text


def test_unknown_measurand(load, user_path):
    text = _error(load, {"Core": {"MeterValuesSampledData": "Energy.Active.Import.Register,Energy.Bogus"}})
    assert text.startswith(f"{user_path}: section Core, key MeterValuesSampledData, ")
    assert "'Energy.Active.Import.Register,Energy.Bogus'" in text
    assert "unknown item 'Energy.Bogus'" in text


def test_measurand_outside_supported_measurands(load):
    text = _error(load, {"Core": {"StopTxnSampledData": "RPM"}})
    assert "key StopTxnSampledData, value 'RPM': not in SupportedMeasurands: RPM" in text


def test_supported_feature_profiles_rules(load):
    assert "must contain Core" in _error(load, {"Core": {"SupportedFeatureProfiles": "RemoteTrigger"}})
    text = _error(load, {"Core": {"SupportedFeatureProfiles": "Core,Teleport"}})
    assert "key SupportedFeatureProfiles, value 'Core,Teleport': unknown item 'Teleport'" in text


def test_list_longer_than_its_max_length_key(load):
    text = _error(load, {"Core": {"MeterValuesSampledData": "SoC,Voltage", "MeterValuesSampledDataMaxLength": 1}})
    assert "more than MeterValuesSampledDataMaxLength=1 items" in text


def test_phase_rotation_beyond_the_connectors(load):
    text = _error(load, {"Core": {"ConnectorPhaseRotation": "0.RST,3.RTS"}}, number_of_connectors=2)
    assert "key ConnectorPhaseRotation" in text and "above NumberOfConnectors (2)" in text


def test_authorization_key_problems_never_show_the_key(load):
    text = _error(load, {"Security": {"AuthorizationKey": "short"}})
    assert "short" not in text
    assert "section Security, key AuthorizationKey, value <hidden>: must have at least 8 characters" in text
    text = _error(load, {"Security": {"SecurityProfile": 2}})
    assert "profiles 1 and 2 need an AuthorizationKey" in text


def test_top_level_must_be_an_object(load, user_path):
    assert "top level must be a JSON object" in _error(load, [1, 2])


def test_merge_patch_follows_rfc_7386():
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    patch = {"a": "z", "c": {"f": None}}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert merge_patch({"a": {"b": 1}}, {"a": 5}) == {"a": 5}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}


def test_ensure_folders_creates_missing_paths(tmp_path: Path):
    database, logs = tmp_path / "db" / "ocpp", tmp_path / "logs" / "messages"
    ensure_folders(database, logs)
    assert database.is_dir() and logs.is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as caught:
        ensure_folders(blocker / "sub")
    assert "cannot create folder" in str(caught.value)


def test_missing_base_file(tmp_path: Path, user_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.json", user_path)
    assert "nope.json" in str(caught.value) and "cannot read file" in str(caught.value)


def test_libocpp_extension_profiles_are_accepted_and_left_out_of_the_advertised_ones(load, caplog):
    """EVerest's California-pricing config lists CostAndPrice in SupportedFeatureProfiles: the module starts and
    advertises only the profiles it implements."""
    cfg = load({"Core": {"SupportedFeatureProfiles": "Core,RemoteTrigger,CostAndPrice,PnC"}})
    assert cfg.key_value("SupportedFeatureProfiles")["value"] == "Core,RemoteTrigger"
    assert "reduced to the implemented Core,RemoteTrigger" in caplog.text
