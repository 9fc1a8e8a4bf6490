"""The roll-out's metrics the dashboard draws, through the synthesized state machine: a canary
rolled back counts in FleetsRolledBack (and FleetsChanged), as its function prints them."""

from __future__ import annotations

import json

import pytest

from rehearsal.approvals import APPROVERS_ROLE
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import WorkflowRunner, set_alarm_state
from tests.workflow.conftest import ALARM, EMAILS, ROOT, WINDOW, Timeline
from tests.workflow.test_rollout import approve_after


@pytest.fixture(scope="session")
def measured_runner() -> WorkflowRunner:
    """test_rollout's roll-out settings, with the functions' metrics printed (show_logs)."""
    return WorkflowRunner(
        {
            "imageNames": ROOT,
            "notificationEmails": EMAILS,
            "canarySoakHours": "24",
            "canaryAlarmNames": ALARM,
            "requireApproval": "true",
            "approvalTimeoutHours": "72",
            "rolloutWindow": WINDOW,
            "approvers": APPROVERS_ROLE,
        },
        show_logs=True,
    )


def emitted(stdout: str, metric: str) -> list[float]:
    """Every value of `metric` the functions printed (embedded metric format)."""
    values: list[float] = []
    for line in stdout.splitlines():
        if line.startswith("{") and f'"{metric}"' in line:
            record = json.loads(line)
            if "_aws" in record:
                value = record[metric]
                values += value if isinstance(value, list) else [value]
    return values


def test_a_canary_rolled_back_is_counted(
    measured_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the canary's alarm is in ALARM after the soak
    set_alarm_state(fleets, ALARM, "ALARM")

    # When the run builds the image, puts the canary on it, and rolls it back
    measured_runner.run(fleets, timeline.clock, on_approval=approve_after(1))

    # Then one fleet went back, once; the canary's two changes are both fleets changed
    out = capsys.readouterr().out
    assert emitted(out, "FleetsRolledBack") == [1]
    assert sum(emitted(out, "FleetsChanged")) == 2
