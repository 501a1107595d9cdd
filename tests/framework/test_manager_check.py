"""`python -m framework.manager --check`: every run config problem reported, one line each, no traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def run_check(config: Path, *extra: str, modules_dir: Path = FIXTURES / "modules") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "framework.manager", "--config", str(config), "--check",
         "--modules-dir", str(modules_dir), "--interfaces-dir", str(FIXTURES / "interfaces"), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=60)


def problems(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"{len(lines) - 1} problem(s) found in ")
    return lines[:-1]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


GOOD = """
active_modules:
  probe: {module: PyProbe, config_module: {greeting: hi}, config_implementation: {main: {level: 7}}}
  caller:
    module: Caller
    config_module: {ratio: 0.5}
    connections: {target: [{module_id: probe, implementation_id: main}]}
"""


def test_a_good_config_passes(tmp_path: Path) -> None:
    result = run_check(write_config(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr
    assert "OK (2 modules)" in result.stdout


def test_every_connection_problem_is_reported(tmp_path: Path) -> None:
    config = write_config(tmp_path, """
active_modules:
  probe: {module: PyProbe}
  sink: {module: Crasher}
  wrong_interface:
    module: Caller
    config_module: {ratio: 1}
    connections: {target: [{module_id: sink, implementation_id: main}]}
  too_many:
    module: Caller
    config_module: {ratio: 1}
    connections:
      target: [{module_id: probe, implementation_id: main}, {module_id: probe, implementation_id: main},
               {module_id: probe, implementation_id: main}]
  too_few: {module: Caller, config_module: {ratio: 1}}
  dangling:
    module: Caller
    config_module: {ratio: 1}
    connections:
      target: [{module_id: ghost, implementation_id: main}, {module_id: probe, implementation_id: nope}]
      extra: [{module_id: probe, implementation_id: main}]
""")
    lines = problems(run_check(config))
    at = f"{config}: active_modules."
    assert lines == [
        f"{at}wrong_interface.connections.target.0: sink.main provides interface 'sink', requirement 'target' "
        "needs 'probe'",
        f"{at}too_many.connections.target: 3 connection(s), the manifest of Caller asks for 1..2",
        f"{at}too_few.connections.target: 0 connection(s), the manifest of Caller asks for 1..2",
        f"{at}dangling.connections.extra: module Caller has no requirement 'extra'",
        f"{at}dangling.connections.target.0: no active module 'ghost'",
        f"{at}dangling.connections.target.1: module 'probe' (PyProbe) provides no implementation 'nope'",
    ]


def test_every_config_value_problem_is_reported(tmp_path: Path) -> None:
    config = write_config(tmp_path, """
active_modules:
  probe: {module: PyProbe, config_module: {greeting: 5, colour: red}, config_implementation: {main: {level: x},
          other: {a: 1}}}
  caller: {module: Caller, config_module: {ratio: -1}, connections: {target: [{module_id: probe,
           implementation_id: main}]}}
  bare: {module: Caller, connections: {target: [{module_id: probe, implementation_id: main}]}}
""")
    lines = problems(run_check(config))
    at = f"{config}: active_modules."
    assert lines == [
        f"{at}probe.config_module.colour: unknown config key (not in the manifest)",
        f"{at}probe.config_module.greeting: 5 is not of type 'string'",
        f"{at}probe.config_implementation.main.level: 'x' is not of type 'integer'",
        f"{at}probe.config_implementation.other: module PyProbe provides no implementation 'other'",
        f"{at}caller.config_module.ratio: -1 is less than the minimum of 0",
        f"{at}bare.config_module.ratio: missing value (the manifest gives no default)",
    ]


def test_broken_run_config_yaml_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "active_modules:\n  probe: {module: PyProbe\n")
    assert len(lines := problems(run_check(config))) == 1
    assert lines[0].startswith(f"{config}: line 3 column 1: YAML syntax error")


def test_run_config_schema_violation_names_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, "active_modules:\n  probe: {config_module: {}}\n")
    assert problems(run_check(config)) == [f"{config}: active_modules.probe: 'module' is a required property"]
    config.write_text("settings: {mqtt_broker_port: many}\nactive_modules: {}\n")
    assert problems(run_check(config)) == [f"{config}: settings.mqtt_broker_port: 'many' is not of type 'integer'"]


def test_unknown_module_broken_manifest_and_unknown_standalone(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    shutil.copytree(FIXTURES / "modules" / "PyProbe", modules / "PyProbe")
    manifest = modules / "PyProbe" / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("interface: probe", "interfaces: probe"))
    config = write_config(tmp_path, "active_modules:\n  probe: {module: PyProbe}\n  x: {module: Nowhere}\n")
    lines = problems(run_check(config, "--standalone", "ghost", modules_dir=modules))
    assert lines == [
        f"--standalone ghost: no active module 'ghost' in {config}",
        f"{manifest}: provides.main: 'interface' is a required property",
        f"{config}: active_modules.x.module: no module 'Nowhere' (no manifest.yaml found for it)",
    ]


def test_interface_missing_or_broken_is_reported_with_its_file(tmp_path: Path) -> None:
    interfaces = tmp_path / "interfaces"
    shutil.copytree(FIXTURES / "interfaces", interfaces)
    (interfaces / "probe.yaml").write_text("description: probe\nvars:\n  counter: {type: integer}\n")
    config = write_config(tmp_path, "active_modules:\n  probe: {module: PyProbe}\n")
    result = subprocess.run(
        [sys.executable, "-m", "framework.manager", "--config", str(config), "--check", "--modules-dir",
         str(FIXTURES / "modules"), "--interfaces-dir", str(interfaces)],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert problems(result) == [f"{interfaces / 'probe.yaml'}: vars.counter: 'description' is a required property "
                                "(used by module PyProbe)"]
