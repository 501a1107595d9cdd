"""`python -m framework.everest_layout`: the folders a real EVerest manager needs to launch our modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_layout_has_manifest_launcher_venv_and_definitions(tmp_path: Path) -> None:
    prefix = tmp_path / "everest"
    kept = prefix / "share" / "everest" / "interfaces" / "evse_manager.yaml"
    kept.parent.mkdir(parents=True)
    kept.write_text("description: the installation's own file\n")
    result = subprocess.run([sys.executable, "-m", "framework.everest_layout", "--prefix", str(prefix)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    module_dir = prefix / "libexec" / "everest" / "modules" / "OCPP"
    assert (module_dir / "manifest.yaml").read_text() == (REPO / "manifest.yaml").read_text()
    launcher = (module_dir / "module.py").read_text()
    ast.parse(launcher)
    assert repr(str(REPO)) in launcher and "run_module('module'" in launcher
    assert (module_dir / ".venv" / "bin" / "python3").exists()
    share = prefix / "share" / "everest"
    assert (share / "interfaces" / "ocpp.yaml").read_text() == (REPO / "interfaces" / "ocpp.yaml").read_text()
    assert {p.name for p in (share / "types").iterdir()} == {p.name for p in (REPO / "interfaces/types").iterdir()}
    assert (share / "errors" / "generic.yaml").exists()
    assert kept.read_text() == "description: the installation's own file\n"
    assert f"kept the existing {kept}" in result.stderr
    assert (prefix / "etc" / "everest" / "default_logging.cfg").exists()
    ocpp201 = prefix / "libexec" / "everest" / "modules" / "OCPP201"
    assert "run_module('module.v201'" in (ocpp201 / "module.py").read_text()
    assert not (prefix / "libexec" / "everest" / "modules" / "EvseManager").exists()


def test_sim_modules_are_laid_out_on_request(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "framework.everest_layout", "--prefix", str(tmp_path), "--sim"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in ("EvseManager", "Auth", "DummyTokenProvider", "System", "EvseSecurity"):
        module_dir = tmp_path / "libexec" / "everest" / "modules" / name
        assert (module_dir / "manifest.yaml").read_text() == (REPO / "sim" / name / "manifest.yaml").read_text()
        assert f"run_module('sim.{name}'" in (module_dir / "module.py").read_text()
