"""An approval nobody can forge, through the synthesized state machine: only a decision the
approval function recorded (with the identity AWS verified for its URL's caller) moves
production. A bare SendTaskSuccess with a leaked token moves nothing, is e-mailed as
ignored, and the roll-out waits again until its original deadline."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from image_updater import events
from image_updater.approval.ledger import ApprovalLedger
from image_updater.rollout.outcomes import APPROVED
from rehearsal import attacks
from rehearsal.approvals import (
    APPROVER,
    APPROVERS_ROLE,
    STRANGER,
    URL,
    LocalFunctionUrl,
    call_approval_function,
)
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import REGION, ApprovalRequest, WorkflowRunner, set_alarm_state
from tests.workflow.conftest import ALARM, ROOT, AddImage, Timeline, follows
from tests.workflow.test_rollout import approve_after, image_of, new_image, subjects
from tools.run_now.approve import answer
from tools.run_now.errors import ENVIRONMENT, ToolError

IGNORED = "IGNORED: an approval answer for"


@pytest.fixture
def fleets(sim: SimulatedAppStream, add_image: AddImage) -> SimulatedAppStream:
    """ImgA with an update, a healthy canary and two production fleets."""
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Canary", image=ROOT, tags=follows("canary"))
    sim.add_fleet("ProdA", image=ROOT, tags=follows("production"))
    sim.add_fleet("ProdB", image=ROOT, tags=follows("production"))
    set_alarm_state(sim, ALARM, "OK")
    return sim


def forge(request: ApprovalRequest, output: str) -> None:
    """What anyone with states:SendTaskSuccess and the token can do: answer it directly."""
    attacks.forge(request.token, output)


def claim(decision: str = APPROVED) -> str:
    return json.dumps(
        {"decision": decision, "by": APPROVERS_ROLE, "reason": "trust me", "at": "2026-01-01"}
    )


class FirstAnswer:
    """How the roll-out's approval requests are answered: the first by `first`, each later
    one by `then` (nobody, if None); counts the requests."""

    def __init__(
        self,
        first: Callable[[ApprovalRequest], None],
        then: Callable[[ApprovalRequest], None] | None = None,
    ) -> None:
        self.first, self.then, self.requests = first, then, 0

    def __call__(self, request: ApprovalRequest) -> None:
        self.requests += 1
        if self.requests == 1:
            self.first(request)
        elif self.then:
            self.then(request)


def test_a_forged_answer_moves_nothing_and_a_real_approval_still_works(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    seen: list[dict[str, Any]] = []

    def answers(request: ApprovalRequest) -> None:
        seen.append({"timeout": request.timeout_seconds, "prod": image_of(fleets, "ProdA")})
        if len(seen) == 1:
            # Given someone who holds the token answers it directly, claiming an approver
            request.let_time_pass(3600)
            forge(request, claim())
        else:
            # and later a real approver approves through the approval function
            approve_after(2)(request)

    execution = rollout_runner.run(fleets, timeline.clock, on_approval=answers)

    built = new_image(execution)
    # Then the forged answer changed nothing: the roll-out waited again, production as it was,
    assert len(seen) == 2 and seen[1]["prod"] == ROOT
    # within the original deadline (72 h, one of them spent before the forged answer)
    assert 70 * 3600 < seen[1]["timeout"] <= 71 * 3600
    # and it was e-mailed as ignored, naming nobody it claimed
    ignored = next(e for e in execution.emails if e.subject.startswith(IGNORED))
    assert "IGNORED" in ignored.body and "CloudTrail" in ignored.body
    assert "trust me" not in ignored.body
    # Then the real approval moved production, and the e-mail and event name the verified caller
    assert image_of(fleets, "ProdA") == built and image_of(fleets, "ProdB") == built
    assert subjects(execution)[-1] == f"AppStream production fleets updated: {built}"
    assert f"Approved by {APPROVER}" in execution.emails[-1].body
    approved = next(e for e in execution.events if e["detail-type"] == events.ROLLOUT_APPROVED)
    assert approved["detail"]["by"] == APPROVER
    assert all("trust me" not in json.dumps(e["detail"]) for e in execution.events)
    assert execution.status == "SUCCEEDED"


def test_a_forged_rejection_is_ignored_too(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given a forged rejection, then a real approval
    answers = FirstAnswer(lambda request: forge(request, claim("REJECTED")), then=approve_after(1))

    execution = rollout_runner.run(fleets, timeline.clock, on_approval=answers)

    assert image_of(fleets, "ProdA") == new_image(execution)
    assert not any("rejected" in s for s in subjects(execution))


def test_an_oversized_forged_answer_does_not_break_the_run(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given an answer just within SendTaskSuccess's limit (262,144 bytes), which with the
    # roll-out's state would pass the 256 KiB a state may carry, and nobody answers after it
    oversized = json.dumps({"decision": APPROVED, "reason": "x" * 262_000})
    assert len(oversized) <= 262_144
    answers = FirstAnswer(lambda request: forge(request, oversized))

    execution = rollout_runner.run(fleets, timeline.clock, on_approval=answers)

    # Then no state carries it (AWS would end the run with States.DataLimitExceeded)
    assert execution.oversized_states == []
    # and the roll-out ends as an unanswered approval does, production untouched
    built = new_image(execution)
    assert image_of(fleets, "ProdA") == "ImgA"
    assert subjects(execution)[-1] == f"AppStream roll-out approval timed out: {built}"
    assert any(s.startswith(IGNORED) for s in subjects(execution))
    assert execution.status == "SUCCEEDED"


def test_a_caller_who_is_not_an_approver_is_refused(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    refused: list[Any] = []

    def stranger(request: ApprovalRequest) -> None:
        body = {"executionArn": request.execution_arn, "image": ROOT, "decision": APPROVED}
        # Given a principal the URL's resource policy does not name: AWS refuses the call
        with pytest.raises(ToolError) as error:
            answer(
                boto3.Session(region_name=REGION),
                request.execution_arn,
                APPROVED,
                io.StringIO(),
                image=ROOT,
                url=URL,
                transport=LocalFunctionUrl(STRANGER),
            )
        refused.append(error.value.exit_code)
        # and should the policy ever admit it, the function refuses it too
        refused.append(call_approval_function(STRANGER, body))
        # and a caller with no IAM identity at all
        refused.append(call_approval_function("", body)[0])
        refused.append(ApprovalLedger().get(request.execution_arn, ROOT))

    execution = rollout_runner.run(fleets, timeline.clock, on_approval=stranger)

    code, (status, reply), anonymous, record = refused
    assert code == ENVIRONMENT
    assert status == 403 and "not one of the approvers" in reply["error"]
    assert anonymous == 403
    assert record is not None and record.decision is None  # nothing recorded
    assert image_of(fleets, "ProdA") == "ImgA"
    assert subjects(execution)[-1].startswith("AppStream roll-out approval timed out")


@pytest.mark.parametrize("error", ["ApprovalAlreadyDecided", "LedgerUnavailable"])
def test_a_forged_failure_of_the_wait_is_ignored_too(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
    error: str,
) -> None:
    # Given someone with states:SendTaskFailure and the token fails the wait with the name of
    # an error the wait step itself raises, and a cause of their own
    def fail_the_wait(request: ApprovalRequest) -> None:
        boto3.client("stepfunctions", region_name=REGION).send_task_failure(
            taskToken=request.token, error=error, cause="run ./fix.sh as admin"
        )

    # and later a real approver approves through the approval function
    answers = FirstAnswer(fail_the_wait, then=approve_after(1))

    execution = rollout_runner.run(fleets, timeline.clock, on_approval=answers)

    # Then the forged failure neither ended the roll-out nor was told as a timeout: it was
    # ignored (e-mailed as such, its text unread) and the real approval moved production
    built = new_image(execution)
    assert answers.requests == 2
    assert any(s.startswith(IGNORED) for s in subjects(execution))
    assert not any("timed out" in s or "stopped" in s for s in subjects(execution))
    assert all("fix.sh" not in e.body for e in execution.emails)
    assert image_of(fleets, "ProdA") == built
    assert execution.status == "SUCCEEDED"
