from module.core.connector_status import ConnectorStateMachine, ErrorInfo, Event, Status


def test_plugin_charge_finish_cycle_follows_ocpp_states():
    machine = ConnectorStateMachine(1)
    steps = [(Event.USAGE_INITIATED, Status.PREPARING), (Event.START_CHARGING, Status.CHARGING),
             (Event.PAUSE_CHARGING_EV, Status.SUSPENDED_EV), (Event.START_CHARGING, Status.CHARGING),
             (Event.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED, Status.FINISHING),
             (Event.BECOME_AVAILABLE, Status.AVAILABLE)]
    for event, expected in steps:
        assert machine.handle(event)
        assert machine.report().status == expected


def test_impossible_event_is_ignored():
    machine = ConnectorStateMachine(1)
    assert not machine.handle(Event.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED)
    assert machine.report().status == Status.AVAILABLE


def test_connector_zero_only_knows_available_and_unavailable():
    machine = ConnectorStateMachine(0)
    assert not machine.handle(Event.USAGE_INITIATED)
    assert machine.handle(Event.CHANGE_AVAILABILITY_TO_UNAVAILABLE)
    assert machine.report().status == Status.UNAVAILABLE


def test_fault_overlays_state_and_clearing_restores_it():
    machine = ConnectorStateMachine(1)
    machine.handle(Event.USAGE_INITIATED)
    machine.raise_error(ErrorInfo("e1", "GroundFailure", is_fault=True))
    assert machine.report().status == Status.FAULTED
    assert machine.report().error_code == "GroundFailure"
    machine.handle(Event.START_CHARGING)
    assert machine.report().status == Status.FAULTED
    assert machine.clear_error("e1")
    assert machine.report() .status == Status.CHARGING
    assert machine.report().error_code == "NoError"


def test_non_fault_error_keeps_status_and_reports_code():
    machine = ConnectorStateMachine(1)
    machine.raise_error(ErrorInfo("e2", "OtherError", info="module->impl", vendor_error_code="X/1"))
    report = machine.report()
    assert report.status == Status.AVAILABLE
    assert (report.error_code, report.vendor_error_code) == ("OtherError", "X/1")
