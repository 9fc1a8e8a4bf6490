"""The mark that makes a final report "sent": a DynamoDB step right after the e-mail's
SNS step, conditional on the run's own claim, and the one grant it needs."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from image_updater.update.reports import CLAIM_HOLD
from infra.workflow import states
from tests.infra.conftest import all_states, definition
from tests.infra.test_stack import _actions, _policies_by_role


def test_the_report_is_marked_sent_only_after_sns_accepted_the_email(template: Template) -> None:
    found = all_states(definition(template)["States"])
    send = found[states.SEND_THE_EMAIL]
    claimed = found[send["Next"]]
    assert claimed["Type"] == "Choice"
    (rule,) = claimed["Choices"]
    mark = found[rule["Next"]]
    assert mark["Resource"].endswith(":states:::dynamodb:updateItem")
    parameters = mark["Parameters"]
    assert parameters["ConditionExpression"] == "#status = :claimed AND claimer = :me"
    assert parameters["ExpressionAttributeValues"][":me"] == {
        "S.$": "$.notification.reportClaim.claimer"
    }
    assert parameters["UpdateExpression"] == "SET #status = :reported, expiresAt = :keepUntil"
    # a mark that cannot be written never loses the image's result
    assert [c["Next"] for c in mark["Catch"]] == [states.REPORT_NOT_MARKED_SENT]
    assert found[states.REPORT_NOT_MARKED_SENT]["Next"] == mark["Next"] == states.RESULT
    # an e-mail SNS refused is never marked
    assert send["Catch"][0]["Next"] == states.EMAIL_NOT_SENT


def test_the_state_machine_may_only_update_items_of_the_ledger(template: Template) -> None:
    (table_id,) = template.find_resources("AWS::DynamoDB::GlobalTable")
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        s
        for s in _policies_by_role(template)[role]
        if any(a.startswith("dynamodb:") for a in _actions([s]))
    ]
    assert _actions(statements) == {"dynamodb:UpdateItem"}
    (statement,) = statements
    assert statement["Resource"]["Fn::Join"][1][-2:] == [":table/", {"Ref": table_id}]
    assert statement["Resource"]["Fn::Join"][1][2] == ":dynamodb:"


# A bound for one attempt of a service integration (SNS Publish, DynamoDB UpdateItem).
SERVICE_CALL_SECONDS = 60


def _longest_seconds(state: dict[str, Any], attempt_seconds: float) -> float:
    """A task's worst case: every retrier exhausted, each attempt as long as it may be, each
    wait at its longest (full jitter only shortens them)."""
    attempts, waits = 1, 0.0
    for retry in state.get("Retry", []):
        attempts += retry["MaxAttempts"]
        interval, rate = retry["IntervalSeconds"], retry.get("BackoffRate", 2.0)
        waits += sum(interval * rate**k for k in range(retry["MaxAttempts"]))
    return attempts * attempt_seconds + waits


def test_a_claim_is_held_longer_than_its_run_can_take_to_mark_it(template: Template) -> None:
    # Given the steps between the claim (the status check, or the check's late report) and
    # the mark: retention, the e-mail's text, the send, the mark
    found = all_states(definition(template)["States"])
    timeouts = {
        logical_id: function["Properties"]["Timeout"]
        for logical_id, function in template.find_resources("AWS::Lambda::Function").items()
    }

    def function_timeout(state: dict[str, Any]) -> float:
        (logical_id,) = [i for i in timeouts if i in str(state["Parameters"]["FunctionName"])]
        return float(timeouts[logical_id])

    # When every retry of each is used up
    longest = (
        _longest_seconds(
            found[states.RETIRE_OLDER_IMAGES], function_timeout(found[states.RETIRE_OLDER_IMAGES])
        )
        + _longest_seconds(
            found[states.WRITE_THE_EMAIL], function_timeout(found[states.WRITE_THE_EMAIL])
        )
        + _longest_seconds(found[states.SEND_THE_EMAIL], SERVICE_CALL_SECONDS)
        + _longest_seconds(found[states.MARK_THE_REPORT_SENT], SERVICE_CALL_SECONDS)
    )

    # Then a claim is taken again only well after (the README says about 40 minutes)
    assert 35 * 60 < longest < 45 * 60
    assert 2 * longest < CLAIM_HOLD.total_seconds()
