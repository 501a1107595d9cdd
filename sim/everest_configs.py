"""`python -m sim.everest_configs DIR...`: make EVerest's run configs start with this project's simulated modules.

EVerest's OCPP integration tests name its C++ simulation (EvseManager over a YetiSimulator board and an EvManager
car, EnergyManager/EnergyNode, DummyTokenProviderManual, ...).  A prefix that has only our OCPP module cannot start
those configs, so every test using them errors before it begins.  This rewrites each config in place so that it
runs on the project's `sim/` modules instead, keeping what the OCPP module sees the same:

- a module whose type has a simulated counterpart (`sim/<Type>/manifest.yaml`, or a renamed one in RENAMED) becomes
  that module, with the options our manifest does not know dropped (logged in the rewritten file's header);
- EVerest's EvseManager keeps its EVSE number (its `connector_id` option, or the run config's mapping) as our
  `evse_id`, has connector 1, a lock when EVerest's has a `connector_lock` connection, the public key of its
  board's meter, and the script of the car simulator bound to its board when that one runs its script by itself
  (`auto_exec`); our EvseManager plays the car on `everest_external/nodered/<evse>/carsim/` as EVerest's car
  simulator does;
- modules that only simulate hardware behind the EVSE (board, car, energy tree, SLAC...) and C++ helpers without a
  counterpart here are removed with every connection to them, and so is a connection to an implementation our
  simulated module does not provide; the OCPP module, probe modules and anything else are kept as they are.

The original file is kept beside the rewritten one as `<name>.orig`; running it again starts from that original.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from framework.definitions import DefinitionError, load_manifest, load_yaml

SIM_DIR = Path(__file__).resolve().parent
RENAMED = {"DummyTokenProviderManual": "DummyTokenProvider"}
#: EVerest modules removed: the hardware behind an EVSE (board, car, meter, SLAC, ISO 15118 stacks, energy tree),
#: which our EvseManager simulates in one process, and C++ helpers without a counterpart here (error history,
#: persistent store, terminals, the API bridge) that the OCPP module's tests do not need.
REMOVED = frozenset({
    "YetiSimulator", "EvManager", "EnergyManager", "EnergyNode", "SlacSimulator", "IMDSimulator", "OVMSimulator",
    "DCSupplySimulator", "EvseV2G", "Evse15118D20", "PyEvJosev", "IsoMux", "ErrorHistory", "PersistentStore",
    "TerminalCostAndPriceMessage", "TerminalDisplayMessage", "DummyTokenValidator", "API", "GenericPowermeter",
    "LemDCBM400600", "MicroMegaWattBSP", "PhyVersoBSP", "YetiDriver", "DummyV2G", "JsYetiSimulator",
})


@dataclass
class Rewrite:
    """The rewritten config and what was left out on the way (written as comments at its top)."""

    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@cache
def simulated_manifest(module_type: str) -> dict[str, Any] | None:
    """Our manifest of a module type (read once: the rewrite asks for it per module and per connection)."""
    path = SIM_DIR / RENAMED.get(module_type, module_type) / "manifest.yaml"
    return load_manifest(path) if path.exists() else None


def _evse_number(entry: dict[str, Any]) -> int:
    mapping = (entry.get("mapping") or {}).get("module") or {}
    options = entry.get("config_module") or {}
    return int(mapping.get("evse") or options.get("connector_id") or 1)


def _car_scripts(modules: dict[str, Any]) -> dict[int, str]:
    """EVSE number -> the script an EvManager runs on its own (auto_exec), by the car's connector_id."""
    scripts = {}
    for entry in modules.values():
        options = entry.get("config_module") or {}
        if entry.get("module") == "EvManager" and options.get("auto_exec") and options.get("auto_exec_commands"):
            scripts[int(options.get("connector_id") or 1)] = str(options["auto_exec_commands"])
    return scripts


def _meter_keys(modules: dict[str, Any]) -> dict[str, str]:
    """Board module id -> the public key its simulated meter publishes (EVerest's YetiSimulator publishes
    TESTPUBLICKEY<connector_id>)."""
    return {mid: f"TESTPUBLICKEY{(entry.get('config_module') or {}).get('connector_id', 1)}"
            for mid, entry in modules.items() if entry.get("module") == "YetiSimulator"}


def _evse_manager_options(entry: dict[str, Any], car_script: str | None,
                          meter_keys: dict[str, str]) -> dict[str, Any]:
    options = dict(entry.get("config_module") or {})
    boards = [t.get("module_id") for t in (entry.get("connections") or {}).get("powermeter_grid_side") or []]
    meter_key = next((meter_keys[b] for b in boards if b in meter_keys), None)
    if meter_key:
        options["powermeter_public_key_ocmf"] = meter_key
    options["evse_id"] = _evse_number(entry)
    options["connector_id"] = 1
    options["connector_lock"] = bool((entry.get("connections") or {}).get("connector_lock"))
    if car_script:
        options["auto_exec_commands"] = car_script
    return options


def _provided(target: dict[str, Any], impl_id: str) -> bool:
    """Whether a connection's target still provides the implementation (ours may provide fewer than EVerest's,
    e.g. no token_provider on the EvseManager, which only ISO 15118 needs)."""
    manifest = simulated_manifest(target.get("module", ""))
    return manifest is None or impl_id in (manifest.get("provides") or {})


def rewrite(config: dict[str, Any]) -> Rewrite:
    """The config with our simulated modules in place of EVerest's; the input is not changed."""
    config = copy.deepcopy(config)
    modules: dict[str, Any] = config.get("active_modules") or {}
    result = Rewrite(config)
    removed = {mid for mid, entry in modules.items() if entry.get("module") in REMOVED}
    car_scripts, meter_keys = _car_scripts(modules), _meter_keys(modules)
    for mid in sorted(removed):
        kind = modules.pop(mid)["module"]
        result.notes.append(f"removed {mid} ({kind}): no counterpart here (hardware our EvseManager simulates, "
                            "or a helper the tests do not need)")
    for mid, entry in modules.items():
        manifest = simulated_manifest(entry.get("module", ""))
        if manifest is not None:
            original_type = entry["module"]
            entry["module"] = RENAMED.get(original_type, original_type)
            options = entry.get("config_module") or {}
            if original_type == "EvseManager":
                options = _evse_manager_options(entry, car_scripts.get(_evse_number(entry)), meter_keys)
            known = manifest.get("config") or {}
            dropped = sorted(set(options) - set(known))
            entry["config_module"] = {k: v for k, v in options.items() if k in known}
            if dropped:
                result.notes.append(f"{mid}: options without a simulated counterpart dropped: {', '.join(dropped)}")
            provides = manifest.get("provides") or {}
            for impl_id, values in list((entry.get("config_implementation") or {}).items()):
                known_impl = (provides.get(impl_id) or {}).get("config") or {}
                if set(values or {}) - set(known_impl):
                    result.notes.append(f"{mid}: config_implementation.{impl_id} dropped (ours takes no such options)")
                    del entry["config_implementation"][impl_id]
            requires = manifest.get("requires") or {}
            connections = entry.get("connections") or {}
            for req in sorted(set(connections) - set(requires)):
                result.notes.append(f"{mid}: requirement {req} dropped (our {entry['module']} has none)")
                del connections[req]
        for req, targets in list((entry.get("connections") or {}).items()):
            kept = [t for t in targets or [] if t.get("module_id") not in removed
                    and _provided(modules.get(t.get("module_id")) or {}, t.get("implementation_id", ""))]
            if len(kept) != len(targets or []):
                result.notes.append(f"{mid}: connections of {req} to removed modules or to implementations our "
                                    f"simulated modules lack dropped")
            entry["connections"][req] = kept
    return result


def rewrite_file(path: Path) -> Rewrite:
    """Rewrite one config file in place, from its `.orig` copy when there is one."""
    original = path.with_name(path.name + ".orig")
    if not original.exists():
        shutil.copyfile(path, original)
    result = rewrite(load_yaml(original) or {})
    header = [f"# {path.name} rewritten by sim.everest_configs for the project's simulated modules",
              f"# (EVerest's original: {original.name})"] + [f"#  - {note}" for note in result.notes]
    path.write_text("\n".join(header) + "\n" + yaml.safe_dump(result.config, sort_keys=False))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.everest_configs", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of everest-config-*.yaml files")
    args = parser.parse_args(argv)
    try:
        for folder in args.folders:
            for path in sorted(folder.glob("everest-config-*.yaml")):
                notes = rewrite_file(path).notes
                print(f"{path.name}: {len(notes)} change(s)")
    except DefinitionError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
