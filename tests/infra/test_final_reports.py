"""The mark that makes a final report "sent": a DynamoDB step right after the e-mail's
SNS step, conditional on the run's own claim, and the one grant it needs."""

from __future__ import annotations

from aws_cdk.assertions import Template

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
    assert [s["Resource"] for s in statements] == [{"Fn::GetAtt": [table_id, "Arn"]}]
