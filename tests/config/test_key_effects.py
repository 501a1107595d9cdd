"""Every writable configuration key does something a test shows, and every key kept only for file compatibility is
read-only: the registry walked as a whole, so that a new key cannot be Accepted while doing nothing."""

from __future__ import annotations

import re
from pathlib import Path

from module.config.keys import KEYS, NO_EFFECT, Access

REPO = Path(__file__).resolve().parents[2]

BEHAVIOUR_TESTS: dict[str, str] = {
    "VerifyCsmsAllowWildcards": "tests/core/test_cp_security_tls.py::test_wildcards_only_when_allowed",
    "RetryBackoffRandomRange": "tests/link/test_link_connection.py::test_backoff_doubles_repeat_times_then_stays",
    "RetryBackoffRepeatTimes": "tests/link/test_link_connection.py::test_backoff_doubles_repeat_times_then_stays",
    "RetryBackoffWaitMinimum": "tests/link/test_link_connection.py::test_link_waits_the_backoff_between_attempts",
    "IgnoredProfilePurposesOffline":
        "tests/core/test_cp_smart_charging.py::test_ignored_purposes_count_only_while_online",
    "CompositeScheduleDefaultLimitAmps":
        "tests/core/test_composite_schedule.py::test_amperes_and_watts_convert_with_supply_voltage_and_phases",
    "CompositeScheduleDefaultLimitWatts":
        "tests/core/test_composite_schedule.py::test_amperes_and_watts_convert_with_supply_voltage_and_phases",
    "CompositeScheduleDefaultNumberPhases":
        "tests/core/test_composite_schedule.py::test_amperes_and_watts_convert_with_supply_voltage_and_phases",
    "SupplyVoltage":
        "tests/core/test_composite_schedule.py::test_amperes_and_watts_convert_with_supply_voltage_and_phases",
    "SeccLeafSubjectCommonName":
        "tests/core/test_cp_security_certificates.py::test_the_csr_subject_comes_from_the_secc_leaf_subject_keys",
    "SeccLeafSubjectCountry":
        "tests/core/test_cp_security_certificates.py::test_the_csr_subject_comes_from_the_secc_leaf_subject_keys",
    "SeccLeafSubjectOrganization":
        "tests/core/test_cp_security_certificates.py::test_the_csr_subject_comes_from_the_secc_leaf_subject_keys",
    "AllowChargingProfileWithoutStartSchedule":
        "tests/core/test_cp_smart_charging.py::test_unsupported_purpose_and_profile_without_start_schedule",
    "WaitForStopTransactionsOnResetTimeout":
        "tests/e2e/test_reset.py::test_tc_016_cs_reset_goes_ahead_when_stop_transaction_is_not_confirmed_in_time",
    "AllowOfflineTxForUnknownId": "tests/e2e/test_sessions.py::test_tc_037_1_cs_offline_start_transaction",
    "AuthorizationCacheEnabled": "tests/e2e/test_sessions.py::test_tc_007_cs_regular_start_charging_session_cached_id",
    "AuthorizeRemoteTxRequests": "tests/e2e/test_remote_operations.py::"
                                 "test_tc_011_1_cs_remote_start_without_connector_authorized_by_the_csms_when_configured",
    "ClockAlignedDataInterval": "tests/e2e/test_sessions.py::test_tc_071_cs_clock_aligned_meter_values",
    "ConnectionTimeOut": "tests/core/test_cp_core_profile.py::test_connection_timeout_change_reaches_the_auth_module",
    "ConnectorPhaseRotation": "tests/config/test_config_loading.py::test_phase_rotation_beyond_the_connectors",
    "HeartbeatInterval": "tests/core/test_cp_core_profile.py::test_heartbeat_every_heartbeat_interval",
    "LocalAuthorizeOffline": "tests/e2e/test_sessions.py::test_tc_037_1_cs_offline_start_transaction",
    "LocalPreAuthorize":
        "tests/core/test_authorization.py::test_online_pre_authorize_uses_valid_cache_entry_without_csms",
    "MaxEnergyOnInvalidId":
        "tests/core/test_cp_sessions.py::test_max_energy_on_invalid_id_lets_that_much_energy_flow_before_pausing",
    "MeterValuesAlignedData": "tests/e2e/test_sessions.py::test_tc_071_cs_clock_aligned_meter_values",
    "MeterValuesSampledData": "tests/e2e/test_sessions.py::test_tc_070_cs_sampled_meter_values",
    "MeterValueSampleInterval": "tests/e2e/test_sessions.py::test_tc_070_cs_sampled_meter_values",
    "MinimumStatusDuration":
        "tests/core/test_cp_reservation.py::test_reserved_status_waits_the_minimum_status_duration",
    "ResetRetries": "tests/core/test_cp_core_profile.py::test_a_failed_reset_is_tried_again_reset_retries_times",
    "StopTransactionOnInvalidId":
        "tests/e2e/test_sessions.py::test_start_transaction_invalid_id_pauses_then_stops_deauthorized",
    "StopTxnAlignedData": "tests/e2e/test_sessions.py::test_tc_071_cs_clock_aligned_meter_values",
    "StopTxnSampledData": "tests/e2e/test_sessions.py::test_tc_070_cs_sampled_meter_values",
    "TransactionMessageAttempts":
        "tests/queue/test_queue_retry.py::test_retry_intervals_grow_with_the_attempt_number_and_are_recorded",
    "TransactionMessageRetryInterval":
        "tests/queue/test_queue_retry.py::test_retry_intervals_grow_with_the_attempt_number_and_are_recorded",
    "UnlockConnectorOnEVSideDisconnect":
        "tests/e2e/test_sessions.py::test_tc_005_1_cs_ev_side_disconnect_stops_and_unlocks",
    "WebSocketPingInterval": "tests/link/test_link_connection.py::test_update_ping_interval_applies_at_once",
    "LocalAuthListEnabled": "tests/core/test_cp_local_auth_list.py::test_tc_043_1_cs_send_local_list_not_supported",
    "AuthorizationKey":
        "tests/core/test_cp_security_profiles.py::test_tc_073_authorization_key_change_reconnects_with_the_new_password",
    "CpoName": "tests/core/test_cp_security_certificates.py::"
               "test_tc_074_certificate_renewal_on_request_is_used_for_the_next_connection",
    "SecurityProfile": "tests/core/test_cp_security_profiles.py::test_tc_084_downgrade_is_rejected",
    "DisableSecurityEventNotifications": "tests/core/test_cp_core_profile.py::"
                                         "test_disable_security_event_notifications_keeps_critical_events_on_the_charger",
    "CertSigningWaitMinimum":
        "tests/core/test_cp_security_certificates.py::test_sign_certificate_is_repeated_until_certificate_signed_comes",
    "CertSigningRepeatTimes":
        "tests/core/test_cp_security_certificates.py::test_sign_certificate_is_repeated_until_certificate_signed_comes",
}
"""Each writable key and a test that fails when the key does nothing."""


def test_every_writable_key_has_a_behaviour_test_that_exists() -> None:
    writable = {spec.name for spec in KEYS if spec.access is not Access.READ_ONLY}
    assert sorted(writable - BEHAVIOUR_TESTS.keys()) == []  # a new writable key needs its behaviour test here
    assert sorted(BEHAVIOUR_TESTS.keys() - writable) == []  # a key made read-only leaves this list
    for key, reference in BEHAVIOUR_TESTS.items():
        path, _, name = reference.partition("::")
        source = (REPO / path).read_text()
        assert re.search(rf"^(async )?def {name}\(", source, re.MULTILINE), f"{key}: {reference} does not exist"


def test_keys_kept_for_file_compatibility_are_read_only() -> None:
    for spec in KEYS:
        if NO_EFFECT in spec.effect:
            assert spec.access is Access.READ_ONLY, f"{spec.name} does nothing but is writable"
        if spec.access is not Access.READ_ONLY:
            assert spec.effect, f"{spec.name}: writable without a documented effect"
