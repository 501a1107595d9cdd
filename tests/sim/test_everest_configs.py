"""`sim.everest_configs`: an EVerest SIL run config (C++ board, car and energy simulation) becomes one our
simulated modules can run, and that the framework's config check accepts against our manifests."""

from __future__ import annotations

from pathlib import Path

import yaml

from framework.definitions import Definitions, load_manifest
from framework.run_config import check, load_run_config
from sim.everest_configs import rewrite_file

REPO = Path(__file__).resolve().parents[2]

# The shape of EVerest's two-connector SIL config: EVSE 1 has a connector lock and a car that runs its own script.
EVEREST_CONFIG = """
active_modules:
  evse_a:
    module: EvseManager
    config_module: {connector_id: 1, has_ventilation: true, external_ready_to_start_charging: true}
    connections:
      bsp: [{module_id: board_a, implementation_id: board_support}]
      connector_lock: [{module_id: board_a, implementation_id: connector_lock}]
      powermeter_grid_side: [{module_id: board_a, implementation_id: powermeter}]
  evse_b:
    module: EvseManager
    config_module: {connector_id: 2, session_logging: true}
    connections:
      bsp: [{module_id: board_b, implementation_id: board_support}]
  board_a: {module: YetiSimulator, config_module: {connector_id: 1}}
  board_b: {module: YetiSimulator, config_module: {connector_id: 2}}
  car_a:
    module: EvManager
    config_module: {connector_id: 1, auto_exec: true, auto_exec_commands: "sleep 1;unplug"}
    connections: {ev_board_support: [{module_id: board_a, implementation_id: ev_board_support}]}
  car_b:
    module: EvManager
    config_module: {connector_id: 2, auto_exec: false, auto_exec_commands: "sleep 2;unplug"}
  tokens:
    module: DummyTokenProviderManual
    config_implementation: {main: {token: "123", type: dummy}}
  auth:
    module: Auth
    config_module: {connection_timeout: 10, selection_algorithm: FindFirst}
    connections:
      token_provider:
      - {module_id: tokens, implementation_id: main}
      - {module_id: evse_a, implementation_id: token_provider}
      token_validator: [{module_id: ocpp, implementation_id: auth_validator}]
      evse_manager: [{module_id: evse_a, implementation_id: evse}, {module_id: evse_b, implementation_id: evse}]
  grid:
    module: EnergyNode
    connections: {energy_consumer: [{module_id: evse_a, implementation_id: energy_grid}]}
  security:
    module: EvseSecurity
    config_module: {csms_ca_bundle: ca/csms/CSMS_ROOT_CA.pem, private_key_password: "123456"}
  system: {module: System}
  ocpp:
    module: OCPP
    config_module: {ChargePointConfigPath: libocpp-config-test.json}
    connections:
      evse_manager: [{module_id: evse_a, implementation_id: evse}, {module_id: evse_b, implementation_id: evse}]
      auth: [{module_id: auth, implementation_id: main}]
      reservation: [{module_id: auth, implementation_id: reservation}]
      system: [{module_id: system, implementation_id: main}]
      security: [{module_id: security, implementation_id: main}]
      evse_energy_sink: [{module_id: grid, implementation_id: external_limits}]
"""


def test_an_everest_sil_config_runs_on_our_simulated_modules(tmp_path: Path) -> None:
    path = tmp_path / "everest-config-two.yaml"
    path.write_text(EVEREST_CONFIG)
    notes = rewrite_file(path).notes
    assert path.with_name(path.name + ".orig").read_text() == EVEREST_CONFIG
    modules = yaml.safe_load(path.read_text())["active_modules"]
    assert set(modules) == {"evse_a", "evse_b", "tokens", "auth", "security", "system", "ocpp"}
    assert modules["evse_a"]["config_module"] == {
        "evse_id": 1, "connector_id": 1, "connector_lock": True, "external_ready_to_start_charging": True,
        "auto_exec_commands": "sleep 1;unplug", "powermeter_public_key_ocmf": "TESTPUBLICKEY1"}
    assert modules["evse_b"]["config_module"] == {"evse_id": 2, "connector_id": 1, "connector_lock": False}
    assert modules["tokens"]["module"] == "DummyTokenProvider" and not modules["tokens"]["config_implementation"]
    assert modules["security"]["config_module"] == {"csms_ca_bundle": "ca/csms/CSMS_ROOT_CA.pem"}
    assert modules["ocpp"]["connections"]["evse_energy_sink"] == []
    assert modules["auth"]["connections"]["token_provider"] == [{"module_id": "tokens", "implementation_id": "main"}]
    assert any("private_key_password" in note for note in notes)

    manifests = {name: load_manifest(REPO / "sim" / name / "manifest.yaml")
                 for name in ("EvseManager", "DummyTokenProvider", "Auth", "EvseSecurity", "System")}
    manifests["OCPP"] = load_manifest(REPO / "manifest.yaml")
    assert check(load_run_config(path), manifests, Definitions([REPO / "interfaces"])) == []
    assert path.read_text().startswith("# everest-config-two.yaml rewritten by sim.everest_configs")

    rewrite_file(path)  # a second run starts from EVerest's original again
    assert yaml.safe_load(path.read_text())["active_modules"] == modules
