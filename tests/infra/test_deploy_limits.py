"""What passes the synth deploys: Lambda's 4 KB of environment variables and IAM's policy sizes,
checked on the synthesized template (infra/limits.py), and the workflow's log group name."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from app import build_app
from infra import limits
from infra.config import cdk_json_feature_flags
from rehearsal.template import UNSTAGED
from tests.infra.conftest import CONTEXT, app_py
from tests.infra.test_stack import _arn


def _alarm_names(count: int, length: int) -> str:
    return ",".join(f"C{index:03d}" + "x" * (length - 4) for index in range(count))


def _synth_findings(tmp_path: Path, **context: str) -> list[str]:
    """The deploy-limit findings of a full synth (empty when it synthesizes)."""
    app = cdk.App(
        outdir=str(tmp_path), context={**cdk_json_feature_flags(), **UNSTAGED, **CONTEXT, **context}
    )
    build_app(app)
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
        report = json.loads((tmp_path / "validation-report.json").read_text())
        return [
            violation["description"]
            for plugin in report["pluginReports"]
            if plugin["pluginName"] == "AppStreamImageUpdater-DeployLimits"
            for violation in plugin["violations"]
        ]
    return []


class TestEnvironmentSize:
    def test_100_alarm_names_of_211_characters_are_refused_with_the_arithmetic(
        self, tmp_path: Path
    ) -> None:
        # Given the issue's numbers: 100 alarm names of 211 characters (about 22 KB)
        # When the app is synthesized
        findings = _synth_findings(tmp_path, canaryAlarmNames=_alarm_names(100, 211))
        # Then each function holding the names is refused: its size, Lambda's limit, the
        # variable that fills it and the setting to shorten
        environment = [f for f in findings if f.startswith("Lambda function")]
        assert {f.split(" ")[2] for f in environment} == {"rollout_health", "rollout_report"}
        for finding in environment:
            assert re.search(r"environment variables take 2[12],[0-9]{3} bytes", finding)
            assert "CANARY_ALARM_NAMES 21,7" in finding
            assert "over Lambda's limit of 4,096 bytes (4 KB)" in finding
            assert finding.endswith("Shorten canaryAlarmNames.")

    def test_the_size_is_what_lambda_measures_one_compact_json_object(self) -> None:
        # Given variables whose values hold quotes (JSON lists), as CANARY_ALARM_NAMES does
        variables = {"A": '["x"]', "B": "y"}
        # Then the size counts the escaped quotes, the separators and the braces
        assert limits.environment_bytes(variables) == len('{"A":"[\\"x\\"]","B":"y"}')

    def test_a_referenced_table_name_counts_at_its_longest(self) -> None:
        # Given a function whose only variable is a table's generated name, 4 KB less 255
        filler = "f" * (limits.ENVIRONMENT_MAX_BYTES - 255 - len('{"F":"","T":""}'))
        template = _function_template({"F": filler, "T": {"Ref": "Table"}})
        # Then it fits at 255 characters, and one more character of filler does not
        assert not list(limits.environment_problems(template))
        template = _function_template({"F": filler + "f", "T": {"Ref": "Table"}})
        ((logical_id, problem),) = limits.environment_problems(template)
        assert logical_id == "Fn" and "4,097 bytes" in problem

    def test_a_referenced_parameter_counts_at_its_max_length(self) -> None:
        # Given a function whose variable is a parameter of at most 300 characters, 4 KB less
        # 300 (the StackSet spokes' approver slots are such parameters)
        filler = "f" * (limits.ENVIRONMENT_MAX_BYTES - 300 - len('{"F":"","P":""}'))
        template = _function_template({"F": filler, "P": {"Ref": "Slot"}})
        template["Parameters"] = {"Slot": {"Type": "String", "MaxLength": 300}}
        # Then it fits, and one more character of filler does not
        assert not list(limits.environment_problems(template))
        template = {**template, **_function_template({"F": filler + "f", "P": {"Ref": "Slot"}})}
        ((logical_id, problem),) = limits.environment_problems(template)
        assert logical_id == "Fn" and "4,097 bytes" in problem


def _function_template(variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": "image_updater.handlers.check.handler",
                    "Environment": {"Variables": variables},
                },
            },
        }
    }


def _alarm_arn(name: str) -> dict[str, Any]:
    return _arn("cloudwatch", f":alarm:{name}")


def _policy_template(kind: str, names: list[str], *, copies: int = 1) -> dict[str, Any]:
    statement = {
        "Action": "cloudwatch:DescribeAlarms",
        "Effect": "Allow",
        "Resource": [_alarm_arn(name) for name in names],
    }
    policies = {
        f"Policy{copy}": {
            "Type": kind,
            "Properties": {
                "PolicyDocument": {"Statement": [statement], "Version": "2012-10-17"},
                "Roles": [{"Ref": "Role"}],
            },
        }
        for copy in range(copies)
    }
    role = {"Type": "AWS::IAM::Role", "Properties": {"Description": "the health function's"}}
    return {"Resources": {"Role": role, **policies}}


class TestPolicySize:
    NAMES = tuple(f"C{index:03d}" + "x" * 26 for index in range(100))  # 100 of 30 characters

    def test_the_issues_overflow_managed_policy_is_refused_with_the_arithmetic(self) -> None:
        # Given CDK's overflow managed policy of one statement naming 100 alarms of 30 characters
        template = _policy_template("AWS::IAM::ManagedPolicy", list(self.NAMES))
        # When checked / Then IAM's 6,144 is exceeded by the issue's 8,707 characters
        ((logical_id, problem),) = limits.policy_problems(template)
        assert logical_id == "Policy0"
        assert "takes 8,707 characters" in problem
        assert "cloudwatch:DescribeAlarms on 100 resources" in problem
        assert "over IAM's limit of 6,144 for a managed policy" in problem

    def test_a_roles_inline_policies_are_counted_together(self) -> None:
        # Given two inline policies of 60 names each (5,2xx characters each) on one role
        template = _policy_template("AWS::IAM::Policy", list(self.NAMES[:60]), copies=2)
        # Then together they exceed 10,240, and the refusal adds them up
        ((logical_id, problem),) = limits.policy_problems(template)
        assert logical_id == "Role"
        assert "inline policies take 10," in problem and "Policy0 5," in problem
        assert "Policy1 5," in problem and "over IAM's limit of 10,240" in problem
        # ...while one of them alone fits
        assert not list(
            limits.policy_problems(_policy_template("AWS::IAM::Policy", list(self.NAMES[:60])))
        )

    def test_100_alarm_names_deploy_spread_over_policies(self, tmp_path: Path) -> None:
        # Given 100 alarm names of 25 characters: in one statement 8,2xx characters, over a
        # managed policy's 6,144 like the issue's 30-character names (8,707), and further
        # from the functions' 4 KB, which other settings share
        names = ",".join(name[:25] for name in self.NAMES)
        # When synthesized / Then no limit is exceeded: the grant is split into statements
        # that CDK spreads over the role's policies
        assert _synth_findings(tmp_path, canaryAlarmNames=names) == []

    def test_the_real_templates_references_are_all_of_known_types(self, template: Template) -> None:
        # An unknown type would count as 2,048 characters: the estimate must stay close.
        resources = template.to_json()["Resources"]
        referenced = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if "Ref" in value and not value["Ref"].startswith("AWS::"):
                    referenced.add(resources[value["Ref"]]["Type"])
                if "Fn::GetAtt" in value:
                    referenced.add(resources[value["Fn::GetAtt"][0]]["Type"])
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        for resource in resources.values():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                walk(resource["Properties"]["PolicyDocument"])
            if resource["Type"] == "AWS::Lambda::Function":
                walk(resource["Properties"].get("Environment", {}))
        assert referenced and referenced <= set(limits._KINDS)


class TestWorkflowLogGroup:
    def test_the_workflow_logs_under_vendedlogs_states(self, template: Template) -> None:
        # Given the synthesized state machine / Then its log group is the one named under
        # /aws/vendedlogs/states/ (AWS's advice: no entry in the account's 5,120-character
        # CloudWatch Logs resource policy)
        resources = template.to_json()["Resources"]
        (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
        (destination,) = machine["Properties"]["LoggingConfiguration"]["Destinations"]
        group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        group = resources[group_id]["Properties"]
        assert group["LogGroupName"] == "/aws/vendedlogs/states/AppStreamImageUpdater-Workflow"
        assert group["RetentionInDays"] == 90


def _app_py(tmp_path: Path, context: dict[str, str], **environment: str) -> Any:
    return app_py(context, tmp_path, **environment)


def test_app_py_stops_on_a_limit_with_the_finding_and_no_traceback(tmp_path: Path) -> None:
    # Given `cdk synth -c canaryAlarmNames=...` with 100 names of 211 characters
    result = _app_py(tmp_path, {"canaryAlarmNames": _alarm_names(100, 211)})
    # Then app.py exits non-zero with the finding, not a Python traceback
    assert result.returncode != 0
    assert "ERROR Lambda function rollout_health" in result.stderr
    assert "Traceback" not in result.stderr


def test_app_py_stops_in_a_region_without_appstream(tmp_path: Path) -> None:
    # Given `cdk deploy` with us-west-1 (no AppStream endpoint in botocore's data)
    result = _app_py(tmp_path, {}, CDK_DEFAULT_REGION="us-west-1")
    # Then app.py exits naming the Region, and writes no template
    assert result.returncode != 0
    assert "Region us-west-1 has no AppStream 2.0 endpoint" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))
