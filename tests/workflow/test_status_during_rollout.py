"""run-now status while the synthesized workflow waits for a roll-out's approval: what it reads
is what the real workflow wrote (the approval's ledger item, the new image and its tags, the
fleets the canary step changed), not records a test made up."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr
from typing import Any

import boto3
import pytest

from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import ApprovalRequest, WorkflowRunner, set_alarm_state
from tests.tools.steps import stack_with_outputs
from tests.workflow.conftest import ALARM, ROOT, AddImage, Timeline, follows
from tests.workflow.test_rollout import approve_after, new_image
from tools import run_now
from tools.run_now.errors import ATTENTION


def deployed_stack(execution_arn: str) -> None:
    """The stack's outputs as CloudFormation would show them for this deployment."""
    _, partition, _, region, account, _, machine, _ = execution_arn.split(":")
    (table,) = boto3.client("dynamodb").list_tables()["TableNames"]
    (schedule,) = boto3.client("scheduler").list_schedules()["Schedules"]
    stack_with_outputs(
        {
            "StateMachineArn": f"arn:{partition}:states:{region}:{account}:stateMachine:{machine}",
            "ConfiguredImages": ROOT,
            "ScheduleName": schedule["Name"],
            "LedgerTableName": table,
        }
    )


def status() -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = run_now.main(["status", "--json"], out=out, session_factory=boto3.Session)
    assert not err.getvalue()
    document = json.loads(out.getvalue())
    out = io.StringIO()
    run_now.main(["status"], out=out, session_factory=boto3.Session)
    return code, document, out.getvalue()


@pytest.mark.workflow
def test_status_while_a_rollout_waits_for_approval(
    rollout_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    timeline: Timeline,
) -> None:
    # Given ImgA with an update, a healthy canary and a production fleet
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Canary", image=ROOT, tags=follows("canary"))
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))
    set_alarm_state(sim, ALARM, "OK")
    seen: dict[str, Any] = {}

    def look_then_approve(request: ApprovalRequest) -> None:
        # When the admin runs status while the roll-out waits for approval
        deployed_stack(request.execution_arn)
        seen["request"] = request.execution_arn
        seen["code"], seen["json"], seen["text"] = status()
        approve_after(1)(request)

    execution = rollout_runner.run(sim, timeline.clock, on_approval=look_then_approve)

    # Then it needed a person: the approval, with the command the e-mail gives
    built = new_image(execution)
    command = f'make run-now ARGS="approve {seen["request"]} --image {ROOT}"'
    assert seen["code"] == ATTENTION
    assert [(r["code"], r["image"]) for r in seen["json"]["reasons"]] == [
        ("APPROVAL_WAITING", ROOT)
    ]
    (image,) = seen["json"]["images"]
    assert image["newestAvailable"]["name"] == built
    assert [a["command"] for a in image["approvalsWaiting"]] == [command]
    assert any(command in email.body for email in execution.emails)
    # and the canary is on the new image, production still behind on the root
    assert {f["name"]: (f["image"], f["behind"]) for f in image["fleets"]} == {
        "Canary": (built, False),
        "Prod": (ROOT, True),
    }
    assert image["updateInProgress"] is None and image["reportsOwed"] == []
    assert seen["json"]["schedule"]["state"] == "ENABLED"
    assert "Needs a person:" in seen["text"]
