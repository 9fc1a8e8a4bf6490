"""The linters a security team would run on what `cdk synth` writes: cfn-lint and checkov on
templates, statelint on state machine definitions. Each runs once over all the files a test
hands it (a linter's start-up costs more than a template: checkov's is seconds).

A verdict depends only on the files read, the linter's version and its settings, so a passing
verdict is kept beside the synthesized templates (rehearsal/synth_cache.py) under a key that
digests all three (and the app's code and the installed libraries, as every kept product):
a run whose templates did not change does not lint them again, a fresh clone lints them all,
and a failure is never kept (the next run lints again and prints the linter's own words)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rehearsal.template import kept

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SETTINGS = (ROOT / ".cfnlintrc.yaml", ROOT / ".checkov.yaml")


@dataclass(frozen=True)
class Verdict:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cfn_lint(*templates: Path) -> Verdict:
    return _lint((BIN / "cfn-lint",), templates)


def statelint(*definitions: Path) -> Verdict:
    return _lint((BIN / "statelint",), definitions)


def checkov(*templates: Path) -> Verdict:
    if not CHECKOV.exists():
        pytest.fail("checkov is missing: run `make setup` (the test command does it)")
    return _lint((CHECKOV, "--config-file", ROOT / ".checkov.yaml", "-f"), templates)


def write_json(document: Any, path: Path) -> Path:
    """`document` written as `cdk synth` writes a template, for a linter to read."""
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def _lint(command: tuple[str | Path, ...], files: tuple[Path, ...]) -> Verdict:
    assert files, "a linter with nothing to read proves nothing"
    description = {
        "linter": [Path(part).name for part in command],
        "files": [[path.name, _digest(path)] for path in files],
        "settings": [_digest(path) for path in SETTINGS],
        "tools": _tools(Path(command[0])),
    }

    def run() -> dict[str, Any]:
        result = subprocess.run(
            [str(part) for part in (*command, *files)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}

    return Verdict(**kept(description, run, keep=lambda verdict: verdict["returncode"] == 0))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tools(executable: Path) -> list[str]:
    """The distributions installed beside the linter (checkov has a virtualenv of its own;
    cfn-lint's and statelint's are the test's, which every kept product's key digests)."""
    environment = executable.parent.parent
    return sorted(found.name for found in environment.glob("lib/python*/site-packages/*.dist-info"))
