"""Every writable 2.0.1 variable does something a test shows: the registry walked as a whole, as tests/config's walk
does for the 1.6 keys, so that a variable the CSMS may set cannot be added while nothing acts on it."""

from __future__ import annotations

import re
from pathlib import Path

from module.v201.device_model.variables import VARIABLES, Mutability

TESTS = Path(__file__).resolve().parent

LINK = "test_station.py::test_link_settings_come_from_the_prioritized_network_profile"
FALLBACK = "test_station.py::test_connection_falls_back_to_the_next_priority_slot"
ATTEMPTS = "test_station.py::test_the_transaction_lane_retries_as_message_attempts_say"
CACHE = "test_authorization_201.py::test_c10_cache_lifetime_and_switches"
TX_POINTS = "test_transactions_201.py::test_e01_transaction_from_plug_in_to_unplug"
SAMPLED = "test_transactions_201.py::test_j02_sampled_meter_values_every_tx_updated_interval"
ENDED = "test_transactions_201.py::test_j02_tx_ended_interval_samples_go_with_the_ended_event"
ALIGNED = "test_transactions_201.py::test_j01_clock_aligned_meter_values_in_and_out_of_a_transaction"

BEHAVIOUR_TESTS: dict[str, str] = {
    "InternalCtrlr.NetworkConnectionProfiles": LINK,
    "OCPPCommCtrlr.HeartbeatInterval":
        "test_station.py::test_the_boot_answer_sets_the_heartbeat_interval_and_the_clock",
    "OCPPCommCtrlr.MessageTimeout": LINK,
    "OCPPCommCtrlr.NetworkConfigurationPriority": FALLBACK,
    "OCPPCommCtrlr.NetworkProfileConnectionAttempts": FALLBACK,
    "OCPPCommCtrlr.OfflineThreshold": "test_availability_201.py::"
                                      "test_b51_b52_statuses_after_an_offline_time_longer_or_shorter_than_offline_threshold",
    "OCPPCommCtrlr.MessageAttempts": ATTEMPTS,
    "OCPPCommCtrlr.MessageAttemptInterval": ATTEMPTS,
    "OCPPCommCtrlr.RetryBackOffRandomRange": LINK,
    "OCPPCommCtrlr.RetryBackOffRepeatTimes": LINK,
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": LINK,
    "OCPPCommCtrlr.WebSocketPingInterval": LINK,
    "SecurityCtrlr.BasicAuthPassword": "test_security_profiles.py::test_tc_a_09_cs_update_the_basic_auth_password",
    "AuthCtrlr.Enabled": "test_authorization_201.py::test_c_authorization_off_accepts_every_token",
    "AuthCtrlr.AuthorizeRemoteStart": "test_remote_control.py::test_f01_remote_start_then_remote_stop",
    "AuthCtrlr.LocalAuthorizeOffline":
        "test_authorization_201.py::test_c01_authorize_online_and_c10_the_answer_is_cached",
    "AuthCtrlr.LocalPreAuthorize": "test_authorization_201.py::test_d01_send_local_list_and_d02_its_version",
    "AuthCtrlr.OfflineTxForUnknownIdEnabled":
        "test_authorization_201.py::test_c05_offline_unknown_token_accepted_when_configured",
    "AuthCacheCtrlr.Enabled": CACHE,
    "AuthCacheCtrlr.LifeTime": CACHE,
    "LocalAuthListCtrlr.Enabled": CACHE,
    "TxCtrlr.EVConnectionTimeOut": "../e2e/test_ocpp201.py::test_ocpp16_and_ocpp201_modules_in_one_run_config",
    "TxCtrlr.StopTxOnInvalidId":
        "test_transactions_201.py::test_e05_a_token_the_csms_refuses_in_the_transaction_ends_it",
    "TxCtrlr.TxStartPoint": TX_POINTS,
    "TxCtrlr.TxStopPoint": TX_POINTS,
    "SampledDataCtrlr.TxUpdatedInterval": SAMPLED,
    "SampledDataCtrlr.TxUpdatedMeasurands": SAMPLED,
    "SampledDataCtrlr.TxEndedMeasurands": ENDED,
    "SampledDataCtrlr.TxEndedInterval": ENDED,
    "AlignedDataCtrlr.Interval": ALIGNED,
    "AlignedDataCtrlr.Measurands": ALIGNED,
}


def test_every_writable_variable_has_a_behaviour_test_that_exists() -> None:
    writable = {f"{spec.component.name}.{spec.name}" for spec in VARIABLES
                if spec.mutability is not Mutability.READ_ONLY}
    assert sorted(writable - set(BEHAVIOUR_TESTS)) == [], "writable without a test showing its effect"
    assert sorted(set(BEHAVIOUR_TESTS) - writable) == [], "listed but not writable (or gone)"
    for variable, where in BEHAVIOUR_TESTS.items():
        file, test = where.split("::")
        text = (TESTS / file).read_text()
        assert re.search(rf"def {test}\(", text), f"{variable}: {where} does not exist"
        assert variable.split(".")[1] in text, f"{variable}: {file} never names it"
