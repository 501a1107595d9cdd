from module.core.error_mapping import MREC_VENDOR_ID, RaisedError, to_error_info
from module.core.stop_reasons import ocpp_stop_reason


def test_mrec_error_carries_chargex_code():
    info = to_error_info(RaisedError("u1", "evse_board_support/MREC2GroundFailure"))
    assert (info.error_code, info.vendor_id, info.vendor_error_code, info.is_fault) == (
        "GroundFailure", MREC_VENDOR_ID, "CX002", False)


def test_inoperative_faults_the_connector_with_its_cause():
    info = to_error_info(RaisedError("u2", "evse_manager/Inoperative", message="contactor welded"))
    assert info.is_fault and info.error_code == "OtherError" and info.info == "caused_by:contactor welded"


def test_other_errors_name_origin_and_short_type():
    info = to_error_info(RaisedError("u3", "generic/VendorError", sub_type="fan", message="fan stuck",
                                     origin="evse_manager_1->evse"))
    assert (info.error_code, info.info, info.vendor_id, info.vendor_error_code, info.is_fault) == (
        "OtherError", "evse_manager_1->evse", "fan stuck", "VendorError/fan", False)


def test_stop_reasons_map_to_ocpp():
    assert ocpp_stop_reason("EVDisconnected") == "EVDisconnected"
    assert ocpp_stop_reason("SOCLimitReached") == "Other"
    assert ocpp_stop_reason(None) == "Local"
