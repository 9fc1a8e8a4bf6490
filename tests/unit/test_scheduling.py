"""How the suite is spread over pytest-xdist's workers (tests/conftest.py): by file, except the
files that synthesize in-process, which share one worker (and its one warm-up of the CDK)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import IN_PROCESS_SYNTHS, IN_PROCESS_SYNTHS_SCOPE, scope_of

ROOT = Path(__file__).resolve().parents[2]


def test_the_in_process_synths_share_one_scope_and_other_tests_keep_their_files() -> None:
    assert scope_of("tests/infra/test_app.py::test_x") == IN_PROCESS_SYNTHS_SCOPE
    assert scope_of("tests/infra/test_stack.py::TestSecurityGate::test_y") == (
        IN_PROCESS_SYNTHS_SCOPE
    )
    assert scope_of("tests/unit/test_regions.py::test_z[eu-north-1]") == IN_PROCESS_SYNTHS_SCOPE
    assert scope_of("tests/workflow/test_year.py::test_a") == "tests/workflow/test_year.py"
    assert scope_of("tests/infra/test_rollout.py::TestB::test_c") == "tests/infra/test_rollout.py"


def test_every_file_that_builds_the_app_is_in_the_scope_and_exists() -> None:
    building = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if re.search(r"\bbuild_app\(", path.read_text(encoding="utf-8"))
    }
    assert building == IN_PROCESS_SYNTHS
