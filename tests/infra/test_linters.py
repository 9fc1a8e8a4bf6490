"""The synthesized template and state machine pass the linters a security team would run."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import Synth, definition
from tests.infra.linters import cfn_lint, checkov, statelint, write_json


@pytest.fixture(scope="module")
def template_file(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "AppStreamImageUpdater.template.json"
    return write_json(template.to_json(), path)


def test_cfn_lint_passes(template_file: Path) -> None:
    result = cfn_lint(template_file)
    assert result.returncode == 0, result.output


@pytest.mark.parametrize(
    "overrides",
    [{}, {"notifyNoUpdate": "true"}, {"imageNames": "Solo", "maxConcurrentUpdates": "1"}],
    ids=["default", "notify-no-update", "single-image"],
)
def test_every_state_machine_definition_passes_statelint(
    synth: Synth, overrides: dict[str, str], tmp_path: Path
) -> None:
    path = write_json(definition(synth(**overrides)), tmp_path / "definition.json")
    result = statelint(path)
    assert result.returncode == 0, result.output


def test_checkov_finds_nothing(template_file: Path) -> None:
    result = checkov(template_file)
    assert result.returncode == 0, result.output
    assert "Failed checks: 0" in result.stdout
