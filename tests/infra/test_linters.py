"""The synthesized template and state machine pass the linters a security team would run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import Synth, definition

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def template_file(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "AppStreamImageUpdater.template.json"
    path.write_text(json.dumps(template.to_json(), indent=1))
    return path


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_cfn_lint_passes(template_file: Path) -> None:
    result = _run(BIN / "cfn-lint", template_file)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "overrides",
    [{}, {"notifyNoUpdate": "true"}, {"imageNames": "Solo", "maxConcurrentUpdates": "1"}],
    ids=["default", "notify-no-update", "single-image"],
)
def test_every_state_machine_definition_passes_statelint(
    synth: Synth, overrides: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition(synth(**overrides))))
    result = _run(BIN / "statelint", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing(template_file: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail("checkov is missing: run `make setup` (the test command does it)")
    result = _run(CHECKOV, "--config-file", ROOT / ".checkov.yaml", "-f", template_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout
