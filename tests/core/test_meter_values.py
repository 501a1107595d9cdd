from module.core.meter_values import Measurement, energy_wh, has_energy, sampled_values

READING = {
    "timestamp": "2026-01-01T00:00:00Z",
    "energy_Wh_import": {"total": 1234.6, "L1": 400.0},
    "power_W": {"total": 11000.0, "L1": 3666.5},
    "current_A": {"L1": 16.0, "L2": 16.0, "L3": 15.5},
    "voltage_V": {"L1": 230.1, "L2": 229.9, "L3": 230.0},
    "frequency_Hz": {"L1": 50.0},
}


def test_energy_register_total_and_phase_with_unit_and_context():
    values = sampled_values(Measurement(READING), ["Energy.Active.Import.Register"], "Sample.Periodic")
    assert values[0] == {"value": "1234.6", "context": "Sample.Periodic", "format": "Raw",
                         "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "Wh"}
    assert values[1]["phase"] == "L1"


def test_per_phase_current_and_voltage_use_ocpp_phase_names():
    values = sampled_values(Measurement(READING), ["Current.Import", "Voltage"], "Sample.Clock")
    assert [(v["measurand"], v.get("phase")) for v in values] == [
        ("Current.Import", "L1"), ("Current.Import", "L2"), ("Current.Import", "L3"),
        ("Voltage", "L1-N"), ("Voltage", "L2-N"), ("Voltage", "L3-N")]


def test_missing_measurand_is_left_out_never_invented():
    values = sampled_values(Measurement(READING), ["SoC", "Temperature", "Power.Offered", "Frequency"], "Trigger")
    assert [v["measurand"] for v in values] == ["Frequency"]
    assert "unit" not in values[0]


def test_soc_and_offered_values_when_known():
    measurement = Measurement(READING, soc_percent=42.5, current_offered_a=32, power_offered_w=22000)
    values = sampled_values(measurement, ["SoC", "Current.Offered", "Power.Offered"], "Sample.Periodic")
    assert [(v["measurand"], v["value"], v["unit"]) for v in values] == [
        ("SoC", "42.5", "Percent"), ("Current.Offered", "32", "A"), ("Power.Offered", "22000", "W")]
    assert values[0]["location"] == "EV"


def test_energy_in_whole_wh_and_reading_without_energy_detected():
    assert energy_wh(READING) == 1235
    assert has_energy(READING)
    assert not has_energy({"timestamp": "x", "power_W": {"total": 1}})
    assert not has_energy(None)
