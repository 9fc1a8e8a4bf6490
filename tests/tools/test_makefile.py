"""The README's commands (the Makefile's targets) from a fresh checkout, in a fresh shell.

pytest puts the project on sys.path (pyproject's `pythonpath`) and `make test` exports PYTHONPATH,
so nothing else in the suite notices a target whose command cannot find a module: these run
`make <target>` in a copy of the working tree with only PATH and HOME set, as a new terminal would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE_TIMEOUT_SECONDS = 300

# How each target is proven here; `setup`, `lint` and `test` are what CI runs (.ci/run).
COVERED_TARGETS = {
    "setup": "CI: .ci/run is `make test`, which installs what setup installs",
    "test": "CI: .ci/run; test_make_test_runs_every_check_side_by_side",
    "lint": "test_make_test_runs_every_check_side_by_side",
    "ruff": "part of make test",
    "mypy": "part of make test",
    "pytest": "part of make test",
    "coverage": "test_coverage_is_measured_on_demand",
    "rehearse": "test_cheap_targets_run_from_a_fresh_checkout",
    "run-now": "test_cheap_targets_run_from_a_fresh_checkout",
    "docs": "test_cheap_targets_run_from_a_fresh_checkout",
    "bench": "test_bench_finds_every_module_from_a_fresh_checkout",
    "synth": "test_synth_runs_from_a_fresh_checkout",
    "clean": "test_clean_removes_everything_git_ignores",
}

# Stands in for the interpreter in `$(PY) -m rehearsal.bench`: does what `python -m` does to
# sys.path, then imports the module and every module of the project (the bench imports some of
# them only when it gets to them), without spending two minutes measuring.
IMPORT_EVERYTHING = """
import importlib, os, pkgutil, sys
sys.path.insert(0, os.getcwd())
importlib.import_module(sys.argv[sys.argv.index("-m") + 1])
for package in ("image_updater", "infra", "rehearsal", "tools"):
    for module in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        importlib.import_module(module.name)
importlib.import_module("app")
print("every module imported")
"""


def _fresh_shell() -> dict[str, str]:
    """A new terminal's environment: none of what `make test` exports (PYTHONPATH, JSII_*...)."""
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as a clone would have it (tracked and new files, nothing git ignores),
    with this test run's virtualenv and CDK CLI linked in instead of installed again."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    target = tmp_path_factory.mktemp("checkout")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # not a file deleted and not yet committed
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(sys.prefix)
    if (ROOT / "node_modules").is_dir():
        (target / "node_modules").symlink_to(ROOT / "node_modules")
    return target


def _make(
    directory: Path, *arguments: str, installed: bool = True
) -> subprocess.CompletedProcess[str]:
    # -o: take the linked virtualenv and CLI as installed (their rules would reinstall them).
    as_installed = ["-o", ".venv/.installed", "-o", "node_modules/.bin/cdk"] if installed else []
    return subprocess.run(
        ["make", "--no-print-directory", *as_installed, *arguments],
        cwd=directory,
        env=_fresh_shell(),
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT_SECONDS,
        check=False,
    )


def makefile_and_requirements(folder: Path) -> None:
    """Given-step: a fresh checkout's Makefile and requirements files in `folder`."""
    for name in ROOT.glob("*"):
        if name.name == "Makefile" or name.suffix == ".txt":
            shutil.copy2(name, folder)


def dry_run(folder: Path, target: str) -> list[str]:
    """When-step: the commands `make --dry-run <target>` lists, with no virtualenvs yet."""
    return _make(folder, "--dry-run", target, installed=False).stdout.splitlines()


def test_every_target_is_covered() -> None:
    # Given the Makefile's targets
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert phony
    # Then each one is proven somewhere (a new target needs a line in COVERED_TARGETS)
    assert sorted(phony.group(1).split()) == sorted(COVERED_TARGETS)


def test_make_test_runs_every_check_side_by_side(tmp_path: Path) -> None:
    # Given a fresh checkout's Makefile and requirements (no virtualenvs yet)
    makefile_and_requirements(tmp_path)
    # When make lists what `make test` and `make lint` would run
    test, lint = dry_run(tmp_path, "test"), dry_run(tmp_path, "lint")
    # Then every check is there, started together (jobs), after both virtualenvs
    checks = [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"]
    assert set(checks) <= set(lint) and ".venv/bin/pytest" not in lint
    assert {*checks, ".venv/bin/pytest"} <= set(test)
    assert "--jobs=3" in test[0] and test[0].endswith("ruff mypy pytest")
    assert any("pip install" in line and "requirements-dev.txt" in line for line in test)
    assert any("pip install" in line and "requirements-checkov.txt" in line for line in test)


def test_coverage_is_measured_on_demand(tmp_path: Path) -> None:
    # Given a fresh checkout's Makefile and requirements
    makefile_and_requirements(tmp_path)
    # When make lists what `make coverage` and `make test` would run
    coverage, test = dry_run(tmp_path, "coverage"), dry_run(tmp_path, "test")
    # Then coverage runs the whole suite measuring the Lambda code; make test does not measure
    assert ".venv/bin/pytest --cov=lambdas/image_updater --cov-report=term:skip-covered" in coverage
    assert not any("--cov" in line for line in test)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("rehearse", "ARGS=--list"), "overlap"),
        (("run-now", "ARGS=--help"), "usage:"),
        # (the year's report is left out here: tests/workflow/test_year.py checks it)
        (("docs", "ARGS=--without-year"), ""),
    ],
    ids=["rehearse", "run-now", "docs"],
)
def test_cheap_targets_run_from_a_fresh_checkout(
    checkout: Path, arguments: tuple[str, ...], expected: str
) -> None:
    # Given a fresh checkout and a fresh shell / When the target runs with cheap arguments
    result = _make(checkout, *arguments)
    # Then it does its job
    assert result.returncode == 0, result.stdout + result.stderr
    assert expected in result.stdout
    assert "Traceback" not in result.stderr


def test_bench_finds_every_module_from_a_fresh_checkout(checkout: Path) -> None:
    # Given the bench target's command, its interpreter importing instead of measuring
    probe = checkout / "import_everything.py"
    probe.write_text(IMPORT_EVERYTHING)
    # When it runs as `make bench` runs it
    result = _make(checkout, "bench", f"PY={sys.executable} {probe}")
    # Then every module the bench may reach imports
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every module imported" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / "node_modules" / ".bin" / "cdk").exists(),
    reason="the CDK CLI is not installed (make synth or npm ci installs it)",
)
def test_synth_runs_from_a_fresh_checkout(checkout: Path, tmp_path: Path) -> None:
    # Given a fresh checkout with the CDK CLI / When `make synth` runs the real `cdk synth`
    result = _make(checkout, "synth", f"ARGS=--quiet --output {tmp_path}")
    # Then the template is written, and jsii's Node.js banner is nowhere
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "AppStreamImageUpdater.template.json").is_file()
    assert "b'!!" not in result.stdout + result.stderr


# What the commands leave behind, by .gitignore pattern (a pattern with no sample fails the test).
GENERATED = {
    ".venv/": ".venv/bin/python",
    "__pycache__/": "lambdas/image_updater/__pycache__/models.cpython-311.pyc",
    "*.pyc": "tests/stale.pyc",
    "cdk.out/": "cdk.out/manifest.json",
    ".pytest_cache/": ".pytest_cache/v/cache/nodeids",
    ".mypy_cache/": ".mypy_cache/3.11/app.meta.json",
    ".ruff_cache/": ".ruff_cache/0.17.6/123",
    ".coverage": ".coverage",
    ".coverage.*": ".coverage.host.1234.XyZ",
    "coverage.xml": "coverage.xml",
    "htmlcov/": "htmlcov/index.html",
    ".hypothesis/": ".hypothesis/examples/ab/cd",
    "node_modules/": "node_modules/.bin/cdk",
    ".tools/": ".tools/checkov/bin/checkov",
    "build/": "build/lib/x.py",
    "site/": "site/index.html",
}


def test_clean_removes_everything_git_ignores(tmp_path: Path) -> None:
    # Given a checkout holding one file of each kind .gitignore lists, among sources
    shutil.copy2(ROOT / "Makefile", tmp_path)
    shutil.copy2(ROOT / ".gitignore", tmp_path)
    patterns = [line for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
    assert sorted(patterns) == sorted(GENERATED)
    sources = ["app.py", "lambdas/image_updater/models.py", "tests/unit/test_config.py"]
    for name in [*GENERATED.values(), *sources]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "--quiet"], cwd=tmp_path, check=True)
    # When
    result = _make(tmp_path, "clean")
    # Then nothing git ignores is left, and every source is
    assert result.returncode == 0, result.stderr
    ignored = subprocess.run(
        [*git, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert ignored == []
    assert all((tmp_path / name).is_file() for name in sources)
