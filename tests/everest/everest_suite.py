"""`make everest-tests`: EVerest's own OCPP 1.6 integration suite against this module, under the real EVerest manager.

Charger makers use it to check on their own machine that this module is a drop-in for EVerest's OCPP module.  It
needs EVerest's sources as git repositories (bare mirrors or clones) in one folder, each found as
`<owner>+<name>/repo`, `<owner>+<name>`, `<name>.git` or `<name>`:

    EVerest/everest-framework  EVerest/everest-core  EVerest/everest-cmake  EVerest/liblog  EVerest/everest-sqlite
    pboettch/json-schema-validator  LiamBindle/MQTT-C  biojppm/rapidyaml  biojppm/c4core  biojppm/cmake
    biojppm/debugbreak  fastfloat/fast_float

    python tests/everest/everest_suite.py setup --sources DIR [--work DIR]   # builds once (~5 min on 2 cores)
    python tests/everest/everest_suite.py run [--work DIR] [pytest selection...]

`setup` builds EVerest's manager and everestpy (everest-framework) with their C++ dependencies into `<work>/prefix`,
makes a test virtualenv with everest-testing, unpacks everest-core's `tests/ocpp_tests`, lays out this module and
the simulated charger of `sim/` under the prefix (`framework.everest_layout --sim`) and rewrites the suite's run
configs to start on them (`sim.everest_configs`: EVerest's C++ car, board and energy simulation are not built).
Finished steps are skipped on the next call; the module layout and the configs are redone every time.

`run` starts a private Mosquitto, runs the selection (default: every OCPP 1.6 test file) and prints the result of
each test and the counts per test file; the run's evidence (pytest output, junit report, the manager's and modules'
logs, each test's OCPP message log) stays in `<work>/runs/<time>/`.  Not part of `make test`: it needs EVerest.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FRAMEWORK_REF = "v0.25.0"
CORE_REF = "2025.12.0"  # the first everest-core release with the framework v0.25.0
APT_PACKAGES = ("build-essential", "cmake", "ninja-build", "pkg-config", "git", "libboost-all-dev", "libfmt-dev",
                "nlohmann-json3-dev", "libhowardhinnant-date-dev", "pybind11-json-dev", "libcap-dev",
                "libsqlite3-dev", "libssl-dev", "mosquitto")
# What everest-testing pins, plus iso15118 (imported by the suite's utilities) and a matching cryptography.
TEST_PACKAGES = ("pybind11==3.0.1", "ocpp==2.1.0", "websockets==13.1", "paho-mqtt==2.1.0", "pyftpdlib==2.0.1",
                 "pytest==8.4.2", "pytest-asyncio==0.26.0", "pytest-timeout==2.4.0", "python-dateutil", "pyyaml",
                 "iso15118==0.31.2", "cryptography==44.0.0", "pyOpenSSL==25.0.0")
# (source folder, repository, ref, cmake options) of the framework's C++ dependencies, in build order.
DEPENDENCIES = (
    ("liblog", "EVerest/liblog", "d6896dd", ("-DLOG_INSTALL=ON", "-DBUILD_EXAMPLES=OFF")),
    ("everest-sqlite", "EVerest/everest-sqlite", "v0.1.4", ("-DEVEREST_SQLITE_INSTALL=ON",)),
    ("json-schema-validator", "pboettch/json-schema-validator", "2.3.0",
     ("-DJSON_VALIDATOR_INSTALL=ON", "-DJSON_VALIDATOR_BUILD_TESTS=OFF", "-DJSON_VALIDATOR_BUILD_EXAMPLES=OFF",
      "-DJSON_VALIDATOR_BUILD_SHARED_LIBS=ON", "-DBUILD_SHARED_LIBS=ON")),
    ("MQTT-C", "LiamBindle/MQTT-C", "v1.1.6", ("-DMQTT_C_EXAMPLES=OFF",)),
    ("rapidyaml", "biojppm/rapidyaml", "v0.10.0", ()),
)
NICE = ("nice", "-n", "19")


class SuiteError(Exception):
    """A step failed; the text says which and where its log is."""


def say(text: str) -> None:
    print(f"[everest-tests {time.strftime('%H:%M:%S')}] {text}", flush=True)


class Work:
    """The work folder: sources, builds, the EVerest prefix, the test venv, the suite and the runs."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.src, self.build, self.deps = self.root / "src", self.root / "build", self.root / "deps"
        self.prefix, self.venv = self.root / "prefix", self.root / "venv"
        self.suite = self.root / "ocpp_tests"
        self.done_file = self.root / "done.json"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def done(self) -> set[str]:
        return set(json.loads(self.done_file.read_text())) if self.done_file.exists() else set()

    def mark(self, step: str) -> None:
        self.done_file.write_text(json.dumps(sorted(self.done() | {step})))


def run(command: list[str | Path], log: Path | None = None, cwd: Path | None = None) -> None:
    """Run a command; with `log`, its output goes there and the log's tail is shown when it fails."""
    argv = [str(part) for part in command]
    if log is None:
        if subprocess.run(argv, cwd=cwd).returncode != 0:
            raise SuiteError(f"{argv[0]} failed: {' '.join(argv)}")
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise SuiteError(f"{argv[0]} failed (exit {result.returncode}), log {log}:\n" + "\n".join(tail))


class Sources:
    """Git repositories in one folder, unpacked with `git archive` (no checkout is touched)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    def git_dir(self, repository: str) -> Path:
        owner, name = repository.split("/")
        for candidate in (f"{owner}+{name}/repo", f"{owner}+{name}", f"{name}.git", name):
            path = self.folder / candidate
            probe = subprocess.run(["git", "-C", str(path), "rev-parse", "--git-dir"], capture_output=True)
            if path.is_dir() and probe.returncode == 0:
                return path
        raise SuiteError(f"no git repository of {repository} in {self.folder}")

    def unpack(self, repository: str, ref: str, target: Path, folder: str = "", exclude: str = "") -> None:
        """The tree of `ref` (or one folder of it) into `target`, replacing what was there."""
        paths = [folder] if folder else ["."]
        if exclude:
            paths.append(f":(exclude){exclude}")
        archive = subprocess.run(["git", "-C", str(self.git_dir(repository)), "archive", "--format=tar", ref, "--",
                                  *paths], capture_output=True)
        if archive.returncode != 0:
            raise SuiteError(f"{repository} {ref}: {archive.stderr.decode(errors='replace').strip()}")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        prefix = f"{folder.rstrip('/')}/" if folder else ""
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            for member in tar.getmembers():
                if not member.name.startswith(prefix) or member.name == prefix.rstrip("/"):
                    continue
                member.name = member.name[len(prefix):]
                tar.extract(member, target, filter="tar")

    def submodule_commit(self, repository: str, ref: str, path: str) -> str:
        listing = subprocess.run(["git", "-C", str(self.git_dir(repository)), "ls-tree", ref, path],
                                 capture_output=True, text=True, check=True).stdout.split()
        return listing[2]


def system_packages() -> None:
    missing = [p for p in APT_PACKAGES if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SuiteError(f"missing system packages; run: sudo apt-get install {' '.join(missing)}")
    say(f"apt-get install {' '.join(missing)}")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", *missing])


def test_venv(work: Work) -> None:
    shutil.rmtree(work.venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", work.venv])
    run([work.python, "-m", "pip", "install", "-q", "--upgrade", "pip", *TEST_PACKAGES], log=work.build / "pip.log")


def unpack_sources(work: Work, sources: Sources) -> None:
    sources.unpack("EVerest/everest-cmake", "v0.6.0", work.src / "everest-cmake")  # found as ../everest-cmake
    for folder, repository, ref, _options in DEPENDENCIES:
        exclude = "bm" if folder == "rapidyaml" else ""  # its benchmark data is large and not needed
        sources.unpack(repository, ref, work.src / folder, exclude=exclude)
    c4core = sources.submodule_commit("biojppm/rapidyaml", "v0.10.0", "ext/c4core")
    c4core_dir = work.src / "rapidyaml" / "ext" / "c4core"
    sources.unpack("biojppm/c4core", c4core, c4core_dir)
    for path, repository in (("cmake", "biojppm/cmake"), ("src/c4/ext/debugbreak", "biojppm/debugbreak"),
                             ("src/c4/ext/fast_float", "fastfloat/fast_float")):
        sources.unpack(repository, sources.submodule_commit("biojppm/c4core", c4core, path), c4core_dir / path)
    sources.unpack("EVerest/everest-framework", FRAMEWORK_REF, work.src / "everest-framework")


def cmake(work: Work, name: str, source: Path, install: Path, options: tuple[str, ...], jobs: int) -> None:
    build = work.build / name
    shutil.rmtree(build, ignore_errors=True)
    common = ("-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_INSTALL_PREFIX={install}",
              f"-DCMAKE_PREFIX_PATH={work.deps}", "-DDISABLE_EDM=ON", "-DBUILD_TESTING=OFF",
              "-DCMAKE_POSITION_INDEPENDENT_CODE=ON")
    run([*NICE, "cmake", "-S", source, "-B", build, *common, *options], log=work.build / f"{name}.configure.log")
    run([*NICE, "cmake", "--build", build, "-j", str(jobs)], log=work.build / f"{name}.build.log")
    run([*NICE, "cmake", "--install", build], log=work.build / f"{name}.install.log")


def build_dependencies(work: Work, jobs: int) -> None:
    for folder, _repository, _ref, options in DEPENDENCIES:
        say(f"building {folder}")
        cmake(work, folder, work.src / folder, work.deps, options, jobs)
        if folder == "everest-sqlite":  # its package config includes a file its install step leaves out
            target = work.deps / "lib" / "cmake" / "everest-sqlite" / "cmake"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(work.src / folder / "cmake" / "CollectMigrationFiles.cmake", target)


def build_framework(work: Work, jobs: int) -> None:
    pybind11 = subprocess.run([work.python, "-m", "pybind11", "--cmakedir"], capture_output=True, text=True,
                              check=True).stdout.strip()
    link_deps = f"-L{work.deps / 'lib'}"  # the framework links json-schema-validator by its plain library name
    cmake(work, "everest-framework", work.src / "everest-framework", work.prefix, (
        "-DEVEREST_ENABLE_PY_SUPPORT=ON", "-DEVEREST_ENABLE_JS_SUPPORT=OFF", "-DEVEREST_ENABLE_RS_SUPPORT=OFF",
        "-DEVEREST_ENABLE_ADMIN_PANEL_BACKEND=OFF", "-DEVEREST_INSTALL_ADMIN_PANEL=OFF", "-DFRAMEWORK_INSTALL=ON",
        f"-Dpybind11_DIR={pybind11}", f"-DPython3_EXECUTABLE={work.python}",
        f"-DCMAKE_INSTALL_RPATH={work.deps / 'lib'};{work.prefix / 'lib'}",
        f"-DCMAKE_SHARED_LINKER_FLAGS={link_deps}", f"-DCMAKE_EXE_LINKER_FLAGS={link_deps}",
        f"-DCMAKE_MODULE_LINKER_FLAGS={link_deps}"), jobs)


def install_suite(work: Work, sources: Sources) -> None:
    sources.unpack("EVerest/everest-core", CORE_REF, work.suite, "tests/ocpp_tests")
    testing = work.src / "everest-testing"
    sources.unpack("EVerest/everest-core", CORE_REF, testing, "applications/utils/everest-testing")
    run([work.python, "-m", "pip", "install", "-q", "--no-deps", testing], log=work.build / "everest-testing.log")
    purelib = subprocess.run([work.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "everestpy.pth").write_text(f"{work.prefix / 'lib' / 'everest' / 'everestpy'}\n")
    run([work.python, "-c", "import everest.framework, everest.testing.core_utils"])
    share = work.prefix / "share" / "everest"
    for folder in ("interfaces", "types", "errors"):  # EVerest's catalogue, against which the manager checks ours
        sources.unpack("EVerest/everest-core", CORE_REF, share / folder, folder)
    ocpp_share = share / "modules" / "OCPP"
    ocpp_share.mkdir(parents=True, exist_ok=True)
    for config in (work.suite / "test_sets" / "everest-aux" / "config").glob("libocpp-config-*"):
        shutil.copy(config, ocpp_share)


def lay_out_project(work: Work) -> None:
    """Our modules under the prefix and the suite's configs on our simulated charger; redone on every setup."""
    run([sys.executable, "-m", "framework.everest_layout", "--prefix", work.prefix, "--sim"], cwd=REPO,
        log=work.build / "layout.log")
    run([sys.executable, "-m", "sim.everest_configs", work.suite / "test_sets" / "everest-aux" / "config"],
        cwd=REPO, log=work.build / "configs.log")


def setup(work: Work, sources: Sources, jobs: int) -> None:
    for folder in (work.src, work.build, work.deps, work.prefix):
        folder.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("system packages", system_packages), ("test venv", lambda: test_venv(work)),
        ("sources", lambda: unpack_sources(work, sources)), ("dependencies", lambda: build_dependencies(work, jobs)),
        ("framework", lambda: build_framework(work, jobs)), ("suite", lambda: install_suite(work, sources))]
    for step, function in steps:
        if step in work.done():
            continue
        started = time.monotonic()
        say(f"{step} ...")
        function()
        work.mark(step)
        say(f"{step} done in {time.monotonic() - started:.0f} s")
    lay_out_project(work)
    say(f"ready: manager {work.prefix / 'bin' / 'manager'}, suite {work.suite}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# EverestCore.stop() ends the manager with SIGINT; a process started without job control may inherit SIGINT as
# ignored, and the manager would then never stop.  pytest is started through this, which restores the handlers.
PYTEST_SHIM = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
               "signal.signal(signal.SIGQUIT, signal.SIG_DFL); import pytest; sys.exit(pytest.main(sys.argv[1:]))")


def run_suite(work: Work, selection: list[str], timeout_s: int) -> int:
    if not (work.prefix / "bin" / "manager").exists() or not work.python.exists():
        raise SuiteError(f"no EVerest build in {work.root}: run setup first")
    run_dir = work.root / "runs" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    port = free_port()
    (run_dir / "mosquitto.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    mosquitto_binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([mosquitto_binary, "-c", str(run_dir / "mosquitto.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    env = {**os.environ, "MQTT_SERVER_ADDRESS": "127.0.0.1", "MQTT_SERVER_PORT": str(port)}
    say(f"run folder {run_dir}")
    try:
        with (run_dir / "pytest.out").open("w") as out:
            result = subprocess.run(
                [*NICE, str(work.python), "-c", PYTEST_SHIM, "-p", "no:cacheprovider",
                 f"--everest-prefix={work.prefix}", f"--timeout={timeout_s}", f"--junitxml={run_dir / 'junit.xml'}",
                 f"--basetemp={run_dir / 'tmp'}", "-o", "log_cli=false", "-o", f"log_file={run_dir / 'debug.log'}",
                 "-o", "log_file_level=DEBUG", "-rA", *(selection or ["test_sets/ocpp16/"])],
                cwd=work.suite, env=env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        broker.terminate()
        broker.wait()
    return report(run_dir / "junit.xml", result.returncode)


def _test_file(classname: str) -> str:
    """`test_sets.ocpp16.<file>[.<class>]` -> `<file>.py`."""
    parts = classname.split(".")
    return f"{parts[2]}.py" if len(parts) > 2 and parts[0] == "test_sets" else classname


def report(junit: Path, pytest_status: int) -> int:
    """Each test's verdict, then passed / failed / errors / skipped per test file and in total."""
    if not junit.exists():
        print(f"no junit report (pytest exit status {pytest_status})")
        return 2
    per_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        verdict = next((k for k in ("skipped", "error", "failure") if k in kinds), "passed")
        verdict = {"failure": "failed", "error": "errors"}.get(verdict, verdict)
        test_file = _test_file(case.get("classname", ""))
        per_file[test_file][verdict] += 1
        print(f"  {verdict:8} {test_file}::{case.get('name')}")
    total: collections.Counter[str] = collections.Counter()
    print(f"\n{'test file':50} passed failed errors skipped")
    for test_file, counts in sorted(per_file.items()):
        total.update(counts)
        print(f"{test_file:50} {counts['passed']:6} {counts['failed']:6} {counts['errors']:6} {counts['skipped']:7}")
    print(f"everest ocpp16 tests: {total['passed']} passed, {total['failed']} failed, {total['errors']} errors, "
          f"{total['skipped']} skipped")
    return 0 if total["failed"] == total["errors"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="everest_suite.py", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("EVEREST_WORK", "build/everest")),
                        help="work folder (default build/everest, or $EVEREST_WORK)")
    commands = parser.add_subparsers(dest="command", required=True)
    setup_parser = commands.add_parser("setup", help="build EVerest and prepare the suite")
    setup_parser.add_argument("--sources", type=Path, default=os.environ.get("EVEREST_SOURCES"),
                              help="folder of EVerest's git repositories (or $EVEREST_SOURCES)")
    setup_parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    run_parser = commands.add_parser("run", help="run the suite (default: test_sets/ocpp16/)")
    run_parser.add_argument("--timeout", type=int, default=180, help="seconds per test")
    run_parser.add_argument("selection", nargs="*", help="pytest selection, relative to tests/ocpp_tests")
    args = parser.parse_args(argv)
    work = Work(args.work)
    try:
        if args.command == "setup":
            if args.sources is None:
                raise SuiteError("name the folder of EVerest's git repositories: --sources DIR or EVEREST_SOURCES")
            setup(work, Sources(Path(args.sources)), args.jobs)
            return 0
        return run_suite(work, args.selection, args.timeout)
    except SuiteError as problem:
        print(f"everest-tests: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
