"""The approval's three functions with the real ledger (moto): the wait step keeps the token,
the approval function records who AWS says answered and answers the token (which never goes
back to the caller or into a log), and the verify step trusts only that record."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from image_updater.approval.ledger import ApprovalAlreadyDecided, ApprovalLedger
from image_updater.handlers import approval_url, rollout_approval, rollout_verify
from image_updater.observability import logger
from rehearsal.approvals import function_url_event
from tests.handlers.conftest import ACCOUNT, REGION, ROOT, LambdaContext, ManualClock

EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Updater:run-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ImageApprovers"
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/ImageApprovers/alice"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAS3cr3tT0k3n"
NEW = "ImgA-20260105-030000"


class FakeStepFunctions:
    """SendTaskSuccess: answers recorded; `refuse` makes the next calls fail with a code."""

    def __init__(self) -> None:
        self.answered: list[dict[str, Any]] = []
        self.refuse: list[str] = []

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        if self.refuse:
            code = self.refuse.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": "no"}}, "SendTaskSuccess")
        self.answered.append({"taskToken": taskToken, "output": json.loads(output)})
        return {}


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> FakeStepFunctions:
    fake = FakeStepFunctions()
    monkeypatch.setattr(approval_url, "_sfn", lambda: fake)
    monkeypatch.setattr(approval_url, "_pause", lambda _seconds: None)
    monkeypatch.setenv("APPROVERS", json.dumps([ROLE]))
    return fake


@pytest.fixture
def function_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the functions write to their log (CloudWatch Logs), at the deployed level (INFO;
    the rehearsal's runner lowers it for its own output)."""
    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    previous = logger.log_level
    logger.setLevel("INFO")
    yield written
    logger.setLevel(previous)


def rollout(**approval: Any) -> dict[str, Any]:
    return {
        "rootImageName": ROOT,
        "executionId": EXECUTION,
        "newImageName": NEW,
        "approval": approval or {"waitSeconds": 72 * 3600, "ignored": 0},
    }


def wait(context: LambdaContext, token: str = TOKEN, **approval: Any) -> dict[str, Any]:
    result: dict[str, Any] = rollout_approval.handler(
        {"taskToken": token, "task": rollout(**approval)}, context
    )
    return result


def answer(
    context: LambdaContext, caller: str = ALICE, decision: str = "APPROVED", **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {"executionArn": EXECUTION, "image": ROOT, "decision": decision, **extra}
    reply = approval_url.handler(function_url_event(caller, body), context)
    return int(reply["statusCode"]), json.loads(reply["body"])


def nothing_recorded_or_answered(sfn: FakeStepFunctions) -> None:
    """Then-step: the roll-out's approval is still undecided, and no token was answered."""
    record = ApprovalLedger().get(EXECUTION, ROOT)
    assert record is not None and record.decision is None
    assert sfn.answered == []


def verify(context: LambdaContext, **task: Any) -> dict[str, Any]:
    result: dict[str, Any] = rollout_verify.handler({"task": {**rollout(), **task}}, context)
    return result


def test_an_approvers_decision_is_recorded_with_the_verified_identity_and_answers_the_token(
    sfn: FakeStepFunctions,
    clock: ManualClock,
    lambda_context: LambdaContext,
    function_log: io.StringIO,
) -> None:
    written = function_log
    # Given the roll-out waits (the wait step kept its token)
    wait(lambda_context)

    # When an approver approves through the URL
    status, reply = answer(lambda_context, reason="canary fine")

    # Then the decision is recorded with who AWS says asked, and the token is answered
    assert status == 200
    assert reply == {
        "delivered": True,
        "decision": "APPROVED",
        "by": ALICE,
        "image": ROOT,
        "newImageName": NEW,
    }
    record = ApprovalLedger().get(EXECUTION, ROOT)
    assert record is not None
    assert (record.decision, record.by, record.reason) == ("APPROVED", ALICE, "canary fine")
    assert [a["taskToken"] for a in sfn.answered] == [TOKEN]
    # and the verify step after the wait takes exactly that
    assert verify(lambda_context)["approval"] == {
        "decision": "APPROVED",
        "by": ALICE,
        "reason": "canary fine",
        "at": "2026-01-05T03:00:00Z",
        "verified": True,
    }
    # and the token was in no reply and no log line
    assert TOKEN not in json.dumps(reply)
    assert "Decision recorded" in written.getvalue()  # the functions did log
    assert TOKEN not in written.getvalue()


def test_nothing_waiting_or_answered_already_is_refused(
    sfn: FakeStepFunctions, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Nothing waits yet
    assert answer(lambda_context)[0] == 404
    wait(lambda_context)
    assert answer(lambda_context, decision="REJECTED")[0] == 200
    # a second answer, whatever it says, changes nothing
    status, reply = answer(lambda_context)
    assert status == 409 and "REJECTED" in reply["error"]
    record = ApprovalLedger().get(EXECUTION, ROOT)
    assert record is not None and record.decision == "REJECTED"
    assert len(sfn.answered) == 1


@pytest.mark.parametrize(
    ("hours_later", "caller", "status", "why"),
    [
        # after the 72 h the roll-out waits: it has ended, production as it was
        pytest.param(72, ALICE, 409, "timed out", id="an answer after the deadline"),
        # a principal whose role name looks right, in the wrong path
        pytest.param(
            0,
            f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUsers/ImageApprovers",
            403,
            "not one of the approvers",
            id="a caller who is not an approver",
        ),
    ],
)
def test_a_refused_answer_records_nothing(
    sfn: FakeStepFunctions,
    clock: ManualClock,
    lambda_context: LambdaContext,
    hours_later: int,
    caller: str,
    status: int,
    why: str,
) -> None:
    # Given a roll-out that waits for an answer (72 h), `hours_later`
    wait(lambda_context)
    clock.advance(timedelta(hours=hours_later))

    # When the caller answers now
    answered, reply = answer(lambda_context, caller=caller)

    # Then it is refused, and nothing is recorded or sent
    assert answered == status and why in reply["error"]
    nothing_recorded_or_answered(sfn)


def test_an_oversized_reason_is_refused(
    sfn: FakeStepFunctions, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    wait(lambda_context)
    assert answer(lambda_context, reason="x" * 501)[0] == 400
    assert answer(lambda_context, reason="x" * 500)[0] == 200


def test_a_wait_that_started_again_gets_the_answer_on_its_new_token(
    sfn: FakeStepFunctions,
    clock: ManualClock,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the roll-out waits, and starts waiting again (new token; an ignored answer ended
    # the old wait) after the function read the old token, before it records the decision
    wait(lambda_context)
    decide = ApprovalLedger.decide

    def new_wait_first(self: ApprovalLedger, *args: Any, **kwargs: Any) -> None:
        wait(lambda_context, token="NEW-TOKEN", ignored=1)
        decide(self, *args, **kwargs)

    monkeypatch.setattr(ApprovalLedger, "decide", new_wait_first)
    sfn.refuse = ["InvalidToken"]  # the old token is gone

    # When the approver approves
    status, reply = answer(lambda_context)

    # Then the answer reaches the new wait
    assert status == 200 and reply["delivered"] is True
    assert [a["taskToken"] for a in sfn.answered] == ["NEW-TOKEN"]


def test_an_answer_the_function_did_not_record_is_ignored_until_the_original_deadline(
    sfn: FakeStepFunctions, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given the roll-out waited 72 h from now
    wait(lambda_context)
    # When the wait ends 10 h later without a record (a bare SendTaskSuccess)
    clock.advance(timedelta(hours=10))
    approval = verify(lambda_context)["approval"]
    # Then it is ignored, with 62 h left to wait
    assert approval["ignored"] == 1 and approval["waitSeconds"] == 62 * 3600
    assert "decision" not in approval
    # and waiting again keeps the original deadline
    wait(lambda_context, token="T2", **approval)
    record = ApprovalLedger().get(EXECUTION, ROOT)
    assert record is not None and record.token == "T2" and record.waits == 2
    assert record.deadline.isoformat().startswith("2026-01-08T03:00")


def test_answers_replayed_past_the_cap_stop_the_roll_out(
    sfn: FakeStepFunctions, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given a roll-out that has ignored IGNORED_MAX answers already
    wait(lambda_context)
    task = {"approval": {"ignored": rollout_verify.IGNORED_MAX, "waitSeconds": 3600}}

    # When one more answer ends the wait without the approval function
    with pytest.raises(rollout_verify.TooManyIgnoredAnswers) as stopped:
        verify(lambda_context, **task)

    # Then the roll-out stops (its e-mail says why), production untouched
    assert "production fleets were left as they are" in str(stopped.value)


def test_a_decision_recorded_between_two_waits_is_taken_at_once(
    sfn: FakeStepFunctions, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given an approver decided while no wait was running (its answer reached no token)
    wait(lambda_context)
    sfn.refuse = ["InvalidToken"] * 3
    status, reply = answer(lambda_context)
    assert status == 200 and reply["delivered"] is False

    # When the roll-out starts waiting again, the wait step fails at once, by name (the
    # state machine then goes to the verify step, which takes the recorded decision)
    with pytest.raises(ApprovalAlreadyDecided):
        rollout_approval.announce(
            rollout_approval.Rollout.from_event(rollout(waitSeconds=3600, ignored=1)),
            {"taskToken": "T2"},
        )
    assert (
        verify(lambda_context, error={"Error": "ApprovalAlreadyDecided"})["approval"]["decision"]
        == "APPROVED"
    )


def test_the_wait_steps_own_failure_stops_the_roll_out_and_is_not_an_ignored_answer(
    sfn: FakeStepFunctions, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given the first wait stored its token, an answer by it was ignored, and the second
    # wait's function failed before it stored its own (no answer could have reached it)
    wait(lambda_context)
    approval = verify(lambda_context)["approval"]

    # When the verify step sees that failure
    # Then it is the wait's failure (the roll-out stops), not an answer to ignore
    with pytest.raises(rollout_verify.ApprovalWaitFailed, match="LedgerUnavailable"):
        verify(lambda_context, approval=approval, error={"Error": "LedgerUnavailable"})
    # while the same failure after the wait stored its token came by the token: ignored
    wait(lambda_context, token="T2", **approval)
    again = verify(lambda_context, approval=approval, error={"Error": "LedgerUnavailable"})
    assert again["approval"]["ignored"] == 2 and again["approval"]["waitSeconds"] > 0


@pytest.mark.parametrize(
    ("hours_later", "ignored", "wait_seconds_left"),
    [
        # the deadline passing is not an ignored answer: the roll-out ends
        pytest.param(72, 0, 0, id="the deadline passing is not an ignored answer"),
        # a timeout claimed 10 h in (a SendTaskFailure by the token may name any error) is an
        # ignored answer: the roll-out waits again for the 62 h left
        pytest.param(10, 1, 62 * 3600, id="a timeout claimed long before it is ignored"),
    ],
)
def test_a_states_timeout_is_taken_only_at_the_deadline(
    sfn: FakeStepFunctions,
    clock: ManualClock,
    lambda_context: LambdaContext,
    hours_later: int,
    ignored: int,
    wait_seconds_left: int,
) -> None:
    # Given the roll-out waits 72 h, and `hours_later` the wait fails "States.Timeout"
    wait(lambda_context)
    clock.advance(timedelta(hours=hours_later))

    # When the verify step sees it
    approval = verify(lambda_context, error={"Error": "States.Timeout"})["approval"]

    # Then
    assert approval["ignored"] == ignored and approval["waitSeconds"] == wait_seconds_left
