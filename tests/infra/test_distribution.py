"""Distribution in the synthesized stack: nothing at all while the keys are unset; when set,
two functions, their exact permissions, the fragment, a longer timeout, and linters passing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from image_updater.domain import naming
from infra.config import cdk_json_feature_flags
from infra.workflow import distribute_each
from infra.workflow import distribution as fragment
from rehearsal import bench
from rehearsal.template import assembly_in
from tests.infra.conftest import (
    CONTEXT,
    Synth,
    actions_of,
    all_states,
    definition,
    resolve,
    resources_of,
    stack_arn,
)
from tests.infra.linters import cfn_lint, checkov, statelint, write_json
from tests.infra.test_lambda_code import import_alone

SHARES = [
    {"accountId": "111122223333", "allowFleet": True, "allowImageBuilder": False},
    {
        "accountId": "444455556666",
        "allowFleet": True,
        "allowImageBuilder": True,
        "regions": ["eu-west-1"],
    },
]
DISTRIBUTING = {
    "copyToRegions": "eu-west-1,ap-northeast-1",
    "shareWithAccounts": json.dumps(SHARES),
}
# What only distribution does (TagResource: create tags the images it starts, too).
APPSTREAM_CHANGES = ("appstream:CopyImage", "appstream:UpdateImagePermissions")


@pytest.fixture(scope="module")
def distributing(synth: Synth) -> Template:
    return synth(**DISTRIBUTING)


def _definitions(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's state machine definition and the distribution's (each image's child)."""
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    (child,) = [m for logical_id, m in machines.items() if "Distribution" in logical_id]
    (run,) = [m for m in machines.values() if m is not child]
    return tuple(  # type: ignore[return-value]
        json.loads(resolve(m["Properties"]["DefinitionString"])) for m in (run, child)
    )


def _actions(template: Template) -> set[str]:
    found: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def _policy_of(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for logical_id, p in template.find_resources("AWS::IAM::Policy").items()
        if logical_id.startswith(role_prefix)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_unset_keys_synthesize_exactly_what_empty_ones_do_and_nothing_of_distribution(
    synth: Synth, template: Template
) -> None:
    # Given the default synth (keys unset: cdk.json's []) and one with the keys set empty
    explicit = synth(copyToRegions="", shareWithAccounts="[]")

    # Then they are the same template, byte for byte
    assert json.dumps(explicit.to_json(), sort_keys=True) == json.dumps(
        template.to_json(), sort_keys=True
    )
    # and it holds no distribution: no function, no permission, no state
    handlers = {
        f["Properties"]["Handler"]
        for f in template.find_resources("AWS::Lambda::Function").values()
    }
    assert not {h for h in handlers if "distribut" in h}
    assert not _actions(template) & set(APPSTREAM_CHANGES)
    states = all_states(definition(template)["States"])
    assert fragment.DISTRIBUTE_EACH_IMAGE not in states
    assert fragment.A_DISTRIBUTION_FAILED not in states


def test_distribution_adds_its_functions_states_and_time(
    template: Template, distributing: Template
) -> None:
    handlers = {
        f["Properties"]["Handler"]
        for f in distributing.find_resources("AWS::Lambda::Function").values()
    }
    assert {
        "image_updater.handlers.distribute.handler",
        "image_updater.handlers.distribution_report.handler",
    } <= handlers
    machine, child = _definitions(distributing)
    states = all_states(machine["States"])
    each = states[fragment.DISTRIBUTE_EACH_IMAGE]
    assert each["MaxConcurrency"] == fragment.COPIES_PER_DESTINATION
    # each image's distribution is a child execution, waited for (its output, parsed)
    start = each["ItemProcessor"]["States"][distribute_each.DISTRIBUTE_THE_IMAGE]
    assert start["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert start["OutputPath"] == "$.Output"
    assert start["Parameters"]["Name.$"] == (
        "States.Hash(States.Format('{} {}', $$.Execution.Id, $.rootImageName), 'SHA-256')"
    )
    assert start["Parameters"]["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$"] == (
        "$$.Execution.Id"
    )
    assert child["TimeoutSeconds"] == fragment.IMAGE_DISTRIBUTION_HOURS * 3600 == 11 * 3600
    plan = all_states(child["States"])[fragment.PLAN_THE_DISTRIBUTION]
    assert plan["Result"] == [
        {
            "region": "",
            "state": "AVAILABLE",
            "shares": [
                {"accountId": "111122223333", "allowFleet": True, "allowImageBuilder": False}
            ],
        },
        {
            "region": "eu-west-1",
            "state": "PLANNED",
            "shares": [
                {"accountId": "111122223333", "allowFleet": True, "allowImageBuilder": False},
                {"accountId": "444455556666", "allowFleet": True, "allowImageBuilder": True},
            ],
        },
        {
            "region": "ap-northeast-1",
            "state": "PLANNED",
            "shares": [
                {"accountId": "111122223333", "allowFleet": True, "allowImageBuilder": False}
            ],
        },
    ]
    copy = all_states(child["States"])
    copy_step = all_states(copy[fragment.DISTRIBUTE_TO_EACH_REGION]["ItemProcessor"]["States"])[
        fragment.COPY_THE_IMAGE
    ]
    quota = next(r for r in copy_step["Retry"] if r["ErrorEquals"] == ["CopyQuotaExceeded"])
    assert (quota["IntervalSeconds"], quota["MaxAttempts"], quota["BackoffRate"]) == (600, 6, 1.5)
    # 2 images, 2 at a time: one batch of copies (6 h) and quota retries (4 h), plus 1 h
    grown = machine["TimeoutSeconds"] - definition(template)["TimeoutSeconds"]
    assert grown == (6 + 4 + 1) * 3600


def test_distribute_may_do_exactly_what_its_code_calls(distributing: Template) -> None:
    statements = _policy_of(distributing, "FunctionsDistributeRole")
    appstream = [s for s in statements if any(a.startswith("appstream:") for a in actions_of(s))]
    actions = sorted({a for s in appstream for a in actions_of(s) if a.startswith("appstream:")})
    assert actions == [
        "appstream:CopyImage",
        "appstream:DescribeImages",
        "appstream:ListTagsForResource",
        "appstream:TagResource",
        "appstream:UpdateImagePermissions",
    ]
    for statement in appstream:
        if "appstream:UpdateImagePermissions" in actions_of(statement) or (
            "appstream:CopyImage" in actions_of(statement) and "Condition" in statement
        ):
            # the hub's images (and shared copies) only with their lineage tag
            root = statement["Condition"]["StringEquals"][
                f"aws:ResourceTag/{naming.LINEAGE_ROOT_TAG}"
            ]
            assert root in ("ImgA", "ImgB")
            assert all(f":image/{root}-*" in json.dumps(r) for r in resources_of(statement))
        elif "appstream:TagResource" in actions_of(statement):
            # only the lineages' names in the copy Regions
            text = json.dumps(resources_of(statement))
            assert text.count("eu-west-1") == text.count("ap-northeast-1") == 2
            assert "AWS::Region" not in text
        else:
            assert statement["Resource"] == "*"
            assert set(actions_of(statement)) <= {
                "appstream:DescribeImages",
                "appstream:ListTagsForResource",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            }
    report = _policy_of(distributing, "FunctionsDistributionReportRole")
    assert not [s for s in report if any(a.startswith("appstream:") for a in actions_of(s))]
    assert any(s["Action"] == "events:PutEvents" for s in report)


def test_the_run_may_start_and_follow_its_distribution_executions_only(
    distributing: Template,
) -> None:
    """AWS's policy for startExecution.sync:2 (Step Functions developer guide, "IAM policies
    for starting executions"), as CDK's StepFunctionsStartExecution grants it for RUN_JOB."""
    machines = distributing.find_resources("AWS::StepFunctions::StateMachine")
    (child,) = [logical_id for logical_id in machines if "Distribution" in logical_id]
    statements = [
        s
        for s in _policy_of(distributing, "WorkflowStateMachineRole")
        if any(a.startswith(("states:", "events:")) for a in actions_of(s))
    ]
    account = ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":"]
    account += [{"Ref": "AWS::AccountId"}]
    child_name = {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": child}]}]}
    rule = "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
    assert statements == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": child}},
        {
            "Action": ["states:DescribeExecution", "states:StopExecution"],
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [*account, ":execution:", child_name, "*"]]},
        },
        {
            "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            "Effect": "Allow",
            "Resource": stack_arn("events", rule),
        },
    ]
    # and the child's own role invokes only the distribution's two functions
    invoked = [
        s
        for s in _policy_of(distributing, "WorkflowDistributionStateMachineRole")
        if "lambda:InvokeFunction" in actions_of(s)
    ]
    text = json.dumps(invoked)
    assert "FunctionsDistribute" in text and "FunctionsDistributionReport" in text
    assert "FunctionsCheck" not in text and "FunctionsCreate" not in text


def test_the_distributing_template_passes_the_linters(
    distributing: Template, tmp_path: Path
) -> None:
    path = write_json(distributing.to_json(), tmp_path / "AppStreamImageUpdater.template.json")
    lint = cfn_lint(path)
    assert lint.returncode == 0, lint.output
    machines = [
        write_json(machine_definition, tmp_path / f"definition-{number}.json")
        for number, machine_definition in enumerate(_definitions(distributing))
    ]
    states = statelint(*machines)
    assert states.returncode == 0, states.output
    found = checkov(path)
    assert found.returncode == 0, found.output


def test_the_distribution_handlers_import_from_their_own_assets_alone(
    tmp_path: Path,
) -> None:
    context = {**cdk_json_feature_flags(), **CONTEXT, **DISTRIBUTING}
    assembly_in(tmp_path, {**context, "aws:cdk:enable-asset-metadata": True})
    functions = bench.functions(tmp_path)
    for name in ("distribute", "distribution_report"):
        function = functions[name]
        result = import_alone(function.asset, [function.module])
        assert result.returncode == 0, result.stderr[-2000:]
        # and the rollout's and the update's code is not in it
        shipped = {p.name for p in function.asset.rglob("*.py")}
        assert "rollout_fleets.py" not in shipped and "create.py" not in shipped


def test_the_run_records_what_it_distributes_before_its_children_and_goes_on_without_it(
    distributing: Template,
) -> None:
    machine, child = _definitions(distributing)
    states = all_states(machine["States"])
    record = states[distribute_each.RECORD_THE_DISTRIBUTIONS]
    # the record step comes right before the Map, which starts a child per item it planned
    assert record["Next"] == fragment.DISTRIBUTE_EACH_IMAGE
    assert record["Parameters"]["Payload"]["action"] == "record"
    assert record["Parameters"]["Payload"]["task.$"] == "$.rollouts"
    assert record["Parameters"]["Payload"]["dryRun.$"] == "$.dryRun"  # which writes nothing
    assert "Distribution" in json.dumps(record["Parameters"]["Payload"]["distributionMachine"])
    assert record["ResultPath"] == "$.distributionPlan"
    assert states[fragment.DISTRIBUTE_EACH_IMAGE]["ItemsPath"] == "$.distributionPlan.items"
    # a record that cannot be written never stops the distribution of this run's images
    (catch,) = record["Catch"]
    without = states[catch["Next"]]
    assert catch["Next"] == distribute_each.DISTRIBUTE_WITHOUT_THE_RECORD
    assert without["Parameters"]["items.$"] == "$.rollouts"
    assert without["Next"] == fragment.DISTRIBUTE_EACH_IMAGE
    # the child marks the image's item REPORTED after SNS accepted its e-mail, only while the
    # run holds the claim, and an image gone from the hub goes straight to its e-mail
    child_states = all_states(child["States"])
    send = child_states[fragment.SEND_THE_DISTRIBUTED_EMAIL]
    mark = child_states[send["Next"]]
    assert mark["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    assert mark["Parameters"]["ConditionExpression"] == "#status = :claimed AND claimer = :me"
    assert mark["Parameters"]["Key"]["sk"]["S.$"] == "$.notification.reportClaim.sk"
    assert mark["Next"] == fragment.DISTRIBUTION_RESULT
    choice = child_states[fragment.NEW_IMAGE_TO_DISTRIBUTE]
    gone = [r for r in choice["Choices"] if r.get("Variable") == "$.result.gone"]
    assert [r["Next"] for r in gone] == [fragment.WRITE_THE_DISTRIBUTED_EMAIL]


def test_the_record_step_may_use_its_ledger_items_and_ask_about_its_runs_only(
    distributing: Template,
) -> None:
    statements = _policy_of(distributing, "FunctionsDistributeRole")
    ledger = [s for s in statements if any(a.startswith("dynamodb:") for a in actions_of(s))]
    assert [(sorted(actions_of(s)), s["Condition"]) for s in ledger] == [
        (
            ["dynamodb:Query", "dynamodb:UpdateItem"],
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["ImgA", "ImgB"]}},
        )
    ]
    assert not [s for s in statements if any(a.startswith("states:") for a in actions_of(s))]
    # DescribeExecution, in a policy of its own (the function's default policy would wait
    # for the state machines, which wait for the function), on the two machines' executions
    (reads,) = [
        p
        for logical_id, p in distributing.find_resources("AWS::IAM::Policy").items()
        if logical_id.startswith("DistributionRecordReads")
    ]
    (statement,) = reads["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "states:DescribeExecution"
    text = json.dumps(statement["Resource"])
    machines = distributing.find_resources("AWS::StepFunctions::StateMachine")
    assert len(statement["Resource"]) == len(machines) == 2
    assert all(f'{{"Ref": "{logical_id}"}}' in text for logical_id in machines)
    (role,) = reads["Properties"]["Roles"]
    assert role["Ref"].startswith("FunctionsDistributeRole")
    # and the distribution's own state machine may mark the item (its DynamoDB task)
    child_role = _policy_of(distributing, "WorkflowDistributionStateMachineRole")
    assert [actions_of(s) for s in child_role if any("dynamodb" in a for a in actions_of(s))] == [
        ["dynamodb:UpdateItem"]
    ]
