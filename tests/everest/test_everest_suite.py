"""The parts of `make everest-tests` that run without EVerest: finding and unpacking a repository of the sources
folder, and the per-file counts of a run's junit report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.everest.everest_suite import Sources, SuiteError, report


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_a_folder_of_a_repository_is_unpacked_from_a_bare_mirror(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "tests" / "ocpp_tests" / "sets").mkdir(parents=True)
    (work / "tests" / "ocpp_tests" / "sets" / "a.py").write_text("A = 1\n")
    (work / "README").write_text("top\n")
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "files", cwd=work)
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    git("clone", "-q", "--bare", str(work), str(mirrors / "EVerest+everest-core" / "repo"), cwd=tmp_path)

    target = tmp_path / "out"
    Sources(mirrors).unpack("EVerest/everest-core", "HEAD", target, "tests/ocpp_tests")
    assert (target / "sets" / "a.py").read_text() == "A = 1\n"
    assert not (target / "README").exists()
    with pytest.raises(SuiteError, match="no git repository of EVerest/liblog"):
        Sources(mirrors).unpack("EVerest/liblog", "HEAD", target)


JUNIT = """<testsuites><testsuite>
<testcase classname="test_sets.ocpp16.booting" name="test_a"/>
<testcase classname="test_sets.ocpp16.booting" name="test_b"><failure message="x"/></testcase>
<testcase classname="test_sets.ocpp16.generic.TestProbe" name="test_c"><error message="y"/></testcase>
<testcase classname="test_sets.ocpp16.generic.TestProbe" name="test_d"><skipped/></testcase>
</testsuite></testsuites>"""


def test_the_report_counts_each_test_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    assert report(junit, 1) == 1
    out = capsys.readouterr().out
    assert "failed   booting.py::test_b" in out
    assert out.splitlines()[-3].split() == ["booting.py", "1", "1", "0", "0"]
    assert out.splitlines()[-2].split() == ["generic.py", "0", "0", "1", "1"]
    assert out.splitlines()[-1] == "everest ocpp16 tests: 1 passed, 1 failed, 1 errors, 1 skipped"
    assert report(tmp_path / "missing.xml", 4) == 2
