"""What `cdk deploy` would create, asserted on the synthesized template."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Capture, Match, Template

from app import build_app
from image_updater.errors import QUOTA_ERRORS, TRANSIENT_ERRORS
from infra.config import cdk_json_feature_flags
from infra.powertools import POWERTOOLS_VERSION
from infra.workflow import states as names
from rehearsal.template import UNSTAGED
from tests.infra.conftest import ATTENDED, UNATTENDED, Synth, all_states, definition

APPSTREAM_TASKS = names.APPSTREAM_TASKS


def _policies_by_role(template: Template) -> dict[str, list[dict[str, Any]]]:
    statements: dict[str, list[dict[str, Any]]] = {}
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            statements.setdefault(role["Ref"], []).extend(
                policy["Properties"]["PolicyDocument"]["Statement"]
            )
    return statements


def _role_of(template: Template, handler_module: str) -> str:
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": f"image_updater.handlers.{handler_module}.handler"}},
    )
    (function,) = functions.values()
    role: str = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return role


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        actions = statement["Action"]
        found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def _arn(service: str, resource: str) -> dict[str, Any]:
    """An ARN in the stack's own partition, Region and account, as CloudFormation joins it
    (`resource` with its leading separator: ":image/ImgA", ":alarm:Name")."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":{service}:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                resource,
            ],
        ]
    }


def _image_arn(name: str) -> dict[str, Any]:
    return _arn("appstream", f":image/{name}")


class TestSchedule:
    def test_schedule_uses_the_configured_expression_time_zone_and_input(
        self, template: Template
    ) -> None:
        # Given the configuration of conftest.CONTEXT / When synthesized / Then
        template.has_resource_properties(
            "AWS::Scheduler::Schedule",
            {
                "ScheduleExpression": "cron(30 2 ? * SUN *)",
                "ScheduleExpressionTimezone": "Europe/Paris",
                "State": "ENABLED",
                "Target": {
                    "Input": json.dumps(
                        {"images": ["ImgA", "ImgB"], "dryRun": False, "startedBy": "schedule"}
                    ).replace(" ", ""),
                    "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 7200},
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                },
            },
        )

    def test_schedule_can_be_paused_without_removing_anything(self, synth: Synth) -> None:
        # Given scheduleEnabled=false / When synthesized
        paused = synth(scheduleEnabled="false")
        # Then the schedule exists but is disabled
        paused.has_resource_properties("AWS::Scheduler::Schedule", {"State": "DISABLED"})
        paused.resource_count_is("AWS::StepFunctions::StateMachine", 1)

    def test_dead_letter_queue_is_encrypted_and_tls_only(self, template: Template) -> None:
        template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
        template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                }
            },
        )


class TestWorkflow:
    def test_map_runs_at_most_max_concurrent_updates(self, template: Template) -> None:
        states = definition(template)["States"]
        assert states[names.UPDATE_EACH_IMAGE]["Type"] == "Map"
        assert states[names.UPDATE_EACH_IMAGE]["MaxConcurrency"] == 3
        assert states[names.UPDATE_EACH_IMAGE]["ItemsPath"] == "$.images"

    def test_appstream_steps_retry_transient_errors_and_quota_longer(
        self, template: Template
    ) -> None:
        states = all_states(definition(template)["States"])
        for name in APPSTREAM_TASKS:
            retries = {tuple(r["ErrorEquals"]): r for r in states[name]["Retry"]}
            transient, quota = retries[TRANSIENT_ERRORS], retries[QUOTA_ERRORS]
            assert transient["IntervalSeconds"] == 30
            assert quota["IntervalSeconds"] >= 600
            assert quota["IntervalSeconds"] > transient["IntervalSeconds"]
            assert any(e.startswith("Lambda.") for r in retries for e in r)

    def test_every_appstream_error_is_caught_into_the_report(self, template: Template) -> None:
        states = all_states(definition(template)["States"])
        for name in APPSTREAM_TASKS:
            (catch,) = states[name]["Catch"]
            assert catch["ErrorEquals"] == ["States.ALL"]
            assert catch["ResultPath"] == "$.error"
            # a dry run keeps the error in its results; any other run e-mails it
            assert catch["Next"] == "Dry run?"
        dry_run = states["Dry run?"]
        (rule,) = dry_run["Choices"]
        assert rule == {"Variable": "$.dryRun", "BooleanEquals": True, "Next": rule["Next"]}
        assert states[rule["Next"]]["Type"] == "Pass"
        assert dry_run["Default"] == "Write the e-mail"

    def test_waiting_happens_in_a_wait_state_of_the_poll_interval(self, synth: Synth) -> None:
        states = all_states(definition(synth(pollIntervalMinutes="15"))["States"])
        waits = {name: s for name, s in states.items() if s["Type"] == "Wait"}
        assert waits["Wait for the build"]["Seconds"] == 900
        # and the roll-out's: the soak (canarySoakHours), a canary's capacity dip checked again,
        # and its production window
        assert waits["Soak the canaries"]["Seconds"] == 24 * 3600
        assert waits["Wait to check the canaries again"]["Seconds"] == 5 * 60
        assert waits["Wait for the production window"]["TimestampPath"] == "$.windowStart"
        assert len(waits) == 4

    def test_no_update_e_mail_only_when_configured(self, synth: Synth) -> None:
        quiet = all_states(definition(synth())["States"])
        chatty = all_states(definition(synth(notifyNoUpdate="true"))["States"])

        def no_update_target(states: dict[str, Any]) -> str:
            choice = states["Update available?"]
            (rule,) = [r for r in choice["Choices"] if r.get("StringEquals") == "NO_UPDATE"]
            target: str = rule["Next"]
            return target

        assert no_update_target(quiet) == "Already up to date"
        assert no_update_target(chatty) == "Write the e-mail"

    def test_a_run_with_a_failed_image_ends_failed(self, template: Template) -> None:
        states = definition(template)["States"]
        updates, rollouts = states["Did every image succeed?"]["Choices"]
        assert updates == {
            "Variable": "$.anyFailed",
            "BooleanEquals": True,
            "Next": "Some images failed",
        }
        assert states["Some images failed"]["Type"] == "Fail"
        # and so does one whose roll-out failed or rolled a canary back
        assert rollouts == {
            "Variable": "$.rolloutSummary.anyFailed",
            "BooleanEquals": True,
            "Next": "A roll-out failed",
        }
        assert states["A roll-out failed"]["Type"] == "Fail"

    def test_state_machine_logs_everything_but_execution_data_and_traces(
        self, template: Template, synth: Synth
    ) -> None:
        template.has_resource_properties(
            "AWS::StepFunctions::StateMachine",
            {
                "StateMachineType": "STANDARD",
                "TracingConfiguration": {"Enabled": True},
                "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": False},
            },
        )
        # (execution data is logged only without approvals: the task token would be)
        synth(logExecutionData="true", requireApproval="false").has_resource_properties(
            "AWS::StepFunctions::StateMachine",
            {"LoggingConfiguration": {"IncludeExecutionData": True}},
        )

    def test_execution_timeout_covers_every_batch_of_images(self, synth: Synth) -> None:
        # 5 images, 2 at a time -> 3 batches of (12 h + 3 h slack), then the roll-outs side
        # by side: soak 24 h + approval 72 h + 2 h slack
        template = synth(imageNames="A1,A2,A3,A4,A5", maxConcurrentUpdates="2")
        assert definition(template)["TimeoutSeconds"] == (3 * 15 + 24 + 72 + 2) * 3600
        # (2 images, 2 at a time: one batch) + soak + a 48 h approval + a window up to 32 days
        windowed = synth(**ATTENDED)
        assert definition(windowed)["TimeoutSeconds"] == (15 + 24 + 48 + 32 * 24 + 2) * 3600
        # no soak, no approval, production at once
        unattended = synth(**UNATTENDED)
        assert definition(unattended)["TimeoutSeconds"] == (15 + 2) * 3600


class TestFunctions:
    def test_functions_run_on_arm64_with_tracing_and_the_pinned_layer(
        self, template: Template
    ) -> None:
        functions = template.find_resources("AWS::Lambda::Function")
        assert len(functions) == 15  # seven, the roll-out's six, verify and the approval
        layer = Capture()
        template.all_resources_properties(
            "AWS::Lambda::Function",
            {
                "Runtime": "python3.14",
                "Architectures": ["arm64"],
                "TracingConfig": {"Mode": "Active"},
                "Layers": [{"Ref": layer}],
            },
        )
        # Each is given the settings its handler reads (test_function_environment.py)
        for module, variables in {
            "plan": {"CONFIGURED_IMAGES": '["ImgA", "ImgB"]'},
            "create": {"CONFIGURED_IMAGES": '["ImgA", "ImgB"]'},
            "poll": {"MAX_POLLS": "72"},
        }.items():
            template.has_resource_properties(
                "AWS::Lambda::Function",
                {
                    "Handler": f"image_updater.handlers.{module}.handler",
                    "Environment": {"Variables": Match.object_like(variables)},
                },
            )
        # The layer is the one AWS names for this runtime, architecture and release
        parameter = template.to_json()["Parameters"][layer.as_string()]
        assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
        assert parameter["Default"] == (
            f"/aws/service/powertools/python/arm64/python3.14/{POWERTOOLS_VERSION}"
        )

    def test_every_log_group_has_the_configured_retention(self, synth: Synth) -> None:
        template = synth(logRetentionDays="30")
        groups = template.find_resources("AWS::Logs::LogGroup")
        assert len(groups) == 16  # fifteen functions and the state machine
        for group in groups.values():
            assert group["Properties"]["RetentionInDays"] == 30
            assert group["DeletionPolicy"] == "Delete"


class TestPermissions:
    def test_only_the_lineage_images_can_be_updated(self, template: Template) -> None:
        policies = _policies_by_role(template)
        lineage = [_image_arn(n) for n in ("ImgA", "ImgA-*", "ImgB", "ImgB-*")]
        for module, actions in (
            ("check", ["appstream:CreateUpdatedImage"]),
            ("create", ["appstream:CreateUpdatedImage", "appstream:TagResource"]),
        ):
            statements = policies[_role_of(template, module)]
            scoped = [s for s in statements if s["Resource"] == lineage]
            assert [s["Action"] for s in scoped] == [actions if len(actions) > 1 else actions[0]]

    def test_each_function_holds_exactly_what_it_calls(self, template: Template) -> None:
        policies = _policies_by_role(template)
        logging = {"logs:CreateLogStream", "logs:PutLogEvents"}
        xray = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
        read = {"appstream:DescribeImages", "appstream:ListTagsForResource"}
        expected = {
            "plan": logging | xray,
            "check": logging
            | xray
            | read
            | {"appstream:CreateUpdatedImage"}
            | {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"},
            "create": logging
            | xray
            | read
            | {"appstream:CreateUpdatedImage", "appstream:TagResource"}
            | {"dynamodb:PutItem", "dynamodb:DeleteItem"}
            | {"dynamodb:Query"}  # creates on record, and rollback records for the quota e-mail
            | {
                "appstream:DescribeFleets",
                "appstream:DescribeImageBuilders",
                "appstream:DescribeImagePermissions",
            }
            | {"events:PutEvents"},
            "poll": logging
            | xray
            | {"appstream:DescribeImages", "dynamodb:UpdateItem"}
            | {"dynamodb:GetItem"},  # the record of one create, in its partition only
            "report": logging | xray | {"events:PutEvents"},
            "breaker": logging
            | xray
            | {"dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"}
            | {"scheduler:GetSchedule", "scheduler:UpdateSchedule", "iam:PassRole"}
            | {"events:PutEvents"},
            "retain": logging
            | xray
            | read
            | {
                "appstream:DescribeFleets",
                "appstream:DescribeImageBuilders",
                "appstream:DescribeImagePermissions",
                "appstream:DeleteImage",
            }
            | {"dynamodb:Query"}  # rollback records: never delete a rollback target
            | {"events:PutEvents"},
            "rollout_plan": logging | xray | read | {"appstream:DescribeFleets"},
            "rollout_fleets": logging
            | xray
            | read
            | {"appstream:DescribeFleets", "appstream:UpdateFleet"}
            | {"appstream:TagResource", "appstream:UntagResource"}
            | {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"}  # rollback records
            | {"events:PutEvents"},
            # canaryAlarmNames is empty here: no CloudWatch permission at all; the lineage's
            # images tell a canary moved on by a newer image's roll-out
            "rollout_health": logging | xray | read | {"appstream:DescribeFleets"},
            # the approval (tests/infra/test_approval.py traces it)
            "rollout_approval": logging | xray | {"events:PutEvents", "dynamodb:UpdateItem"},
            "rollout_verify": logging | xray | {"dynamodb:GetItem"},
            "approval_url": logging
            | xray
            | {"states:SendTaskSuccess", "dynamodb:GetItem", "dynamodb:UpdateItem"},
            "rollout_window": logging | xray | {"events:PutEvents"},
            "rollout_report": logging
            | xray
            | {"appstream:DescribeFleets", "appstream:ListTagsForResource"}
            | {"events:PutEvents"},
        }
        for module, actions in expected.items():
            assert _actions(policies[_role_of(template, module)]) == actions, module
        # and no function escapes the comparison: every function's handler is listed above
        handlers = {
            str(f["Properties"]["Handler"])
            for f in template.find_resources("AWS::Lambda::Function").values()
        }
        assert handlers == {f"image_updater.handlers.{module}.handler" for module in expected}

    def test_the_ledger_is_reached_only_on_its_own_table(self, template: Template) -> None:
        (table_id,) = template.find_resources("AWS::DynamoDB::GlobalTable")
        table_arn = {"Fn::GetAtt": [table_id, "Arn"]}
        # The state machine's DynamoDB task names the same table by its ARN built from its name
        built_arn = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":dynamodb:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":table/",
                    {"Ref": table_id},
                ],
            ]
        }
        for statements in _policies_by_role(template).values():
            for statement in statements:
                actions = statement["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                if any(a.startswith("dynamodb:") for a in actions):
                    assert all(a.startswith("dynamodb:") for a in actions)
                    resources = statement["Resource"]
                    assert (resources if isinstance(resources, list) else [resources]) in (
                        [table_arn],
                        [built_arn],
                    )
        # and the functions that use it are told its name, the others are not
        for module, told in {
            "plan": False,
            "check": True,
            "create": True,
            "poll": True,
            "report": False,
            "breaker": True,
        }.items():
            functions = template.find_resources(
                "AWS::Lambda::Function",
                {"Properties": {"Handler": f"image_updater.handlers.{module}.handler"}},
            )
            (function,) = functions.values()
            variables = function["Properties"]["Environment"]["Variables"]
            assert (variables.get("LEDGER_TABLE") == {"Ref": table_id}) is told, module

    def test_rollback_records_are_reached_only_in_their_own_partition(
        self, template: Template
    ) -> None:
        # Given the functions that keep or read rollback records
        (table_id,) = template.find_resources("AWS::DynamoDB::GlobalTable")
        policies = _policies_by_role(template)
        expected = {
            "rollout_fleets": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
            "retain": "dynamodb:Query",
            "create": "dynamodb:Query",
        }
        for module, actions in expected.items():
            # Then each holds exactly these actions on the records' partition only
            statements = [
                s
                for s in policies[_role_of(template, module)]
                if s.get("Condition", {})
                .get("ForAllValues:StringEquals", {})
                .get("dynamodb:LeadingKeys")
                == ["#rollback"]
            ]
            assert statements == [
                {
                    "Action": actions,
                    "Effect": "Allow",
                    "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
                    "Condition": {
                        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["#rollback"]}
                    },
                }
            ], module
            # and is told the table's name
            (function,) = template.find_resources(
                "AWS::Lambda::Function",
                {"Properties": {"Handler": f"image_updater.handlers.{module}.handler"}},
            ).values()
            variables = function["Properties"]["Environment"]["Variables"]
            assert variables["LEDGER_TABLE"] == {"Ref": table_id}, module

    def test_no_function_reaches_the_ledger_beyond_its_own_partitions(
        self, template: Template
    ) -> None:
        # Given every function role's statements on the ledger table
        (table_id,) = template.find_resources("AWS::DynamoDB::GlobalTable")
        roots = ["ImgA", "ImgB"]  # CONTEXT's imageNames
        expected = {
            "check": {"dynamodb:PutItem": roots, "dynamodb:Query": roots},
            "create": {
                "dynamodb:DeleteItem": [*roots, "#updates"],
                "dynamodb:PutItem": [*roots, "#updates"],
                "dynamodb:Query": [*roots, "#updates"],
            },
            "breaker": {
                "dynamodb:DeleteItem": ["#breaker"],
                "dynamodb:GetItem": ["#breaker"],
                "dynamodb:UpdateItem": ["#breaker"],
            },
        }
        for role, statements in _policies_by_role(template).items():
            on_ledger = [
                s for s in statements if s.get("Resource") == {"Fn::GetAtt": [table_id, "Arn"]}
            ]
            # Then each statement names the partitions it may reach: none reaches the whole
            # table (a rollback target, an approval's record, another lineage's report)
            for statement in on_ledger:
                keys = statement.get("Condition", {}).get("ForAllValues:StringEquals", {})
                assert keys.get("dynamodb:LeadingKeys"), (role, statement)
        for module, partitions_by_action in expected.items():
            reached: dict[str, set[str]] = {}
            for statement in _policies_by_role(template)[_role_of(template, module)]:
                if statement.get("Resource") != {"Fn::GetAtt": [table_id, "Arn"]}:
                    continue
                actions = statement["Action"]
                keys = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
                for action in [actions] if isinstance(actions, str) else actions:
                    reached.setdefault(action, set()).update(keys)
            for action, partitions in partitions_by_action.items():
                assert reached[action] >= set(partitions), (module, action)
                assert reached[action] <= {*partitions, "#rollback"}, (module, action)

    def test_poll_reads_only_the_records_of_creates(self, template: Template) -> None:
        # Given the poll function (a new image the listing does not show yet is still being
        # built while the ledger's record of its create holds)
        (table_id,) = template.find_resources("AWS::DynamoDB::GlobalTable")
        statements = _policies_by_role(template)[_role_of(template, "poll")]

        # Then it may read items in the creates' partition only (and claim reports, as before)
        reads = [s for s in statements if s["Action"] == "dynamodb:GetItem"]
        assert reads == [
            {
                "Action": "dynamodb:GetItem",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["#updates"]}},
            }
        ]

    def test_the_ledger_costs_nothing_at_rest_and_forgets_by_itself(
        self, template: Template
    ) -> None:
        template.has_resource_properties(
            "AWS::DynamoDB::GlobalTable",
            {
                "BillingMode": "PAY_PER_REQUEST",
                "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
            },
        )

    def test_only_retention_deletes_and_only_tagged_derived_images(self, synth: Synth) -> None:
        # Given two configured lineages
        template = synth(imageNames="SalesApps,Eng")
        policies = _policies_by_role(template)

        # When / Then DeleteImage is granted to the retain function alone
        deleting = {
            role
            for role, statements in policies.items()
            if "appstream:DeleteImage" in _actions(statements)
        }
        assert deleting == {_role_of(template, "retain")}
        # and only on each lineage's derived names, carrying that lineage's tag
        statements = [
            s
            for s in policies[_role_of(template, "retain")]
            if s["Action"] == "appstream:DeleteImage"
        ]
        granted = {
            (json.dumps(s["Resource"], sort_keys=True), json.dumps(s["Condition"], sort_keys=True))
            for s in statements
        }
        assert granted == {
            (
                json.dumps(_image_arn(f"{root}-*"), sort_keys=True),
                json.dumps(
                    {"StringEquals": {"aws:ResourceTag/AppStreamImageUpdater:LineageRoot": root}},
                    sort_keys=True,
                ),
            )
            for root in ("SalesApps", "Eng")
        }

    def test_no_managed_policies_on_function_roles(self, template: Template) -> None:
        for role in template.find_resources("AWS::IAM::Role").values():
            assert "ManagedPolicyArns" not in role["Properties"]


class TestNotifications:
    def test_topic_is_encrypted_with_a_rotating_customer_key(self, template: Template) -> None:
        template.has_resource_properties(
            "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}
        )
        template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})

    def test_cloudwatch_may_publish_only_for_this_stacks_alarms(self, template: Template) -> None:
        # Given the alarms of this stack, by name
        alarm_arns = sorted(_alarm_arn(name) for name in _alarm_names(template))
        assert alarm_arns, "the stack has alarms"
        # When the topic policy and the key policy let CloudWatch in
        grants = {
            "topic policy": _statements(template, "AWS::SNS::TopicPolicy", "PolicyDocument"),
            "key policy": _statements(template, "AWS::KMS::Key", "KeyPolicy"),
        }
        for where, statements in grants.items():
            (statement,) = [s for s in statements if s.get("Principal") == {"Service": _CLOUDWATCH}]
            # Then only on behalf of this account and of exactly these alarms (no wildcard)
            condition = statement["Condition"]
            assert set(condition) == {"StringEquals", "ArnLike"}, where
            assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            source_arns = sorted(
                _text(arn) for arn in _listed(condition["ArnLike"]["aws:SourceArn"])
            )
            assert source_arns == alarm_arns, where
            assert not any("*" in arn for arn in source_arns), where

    def test_alarm_names_are_unique_to_the_stack(self, template: Template) -> None:
        names = _alarm_names(template)
        assert names
        assert all(name.startswith("AppStreamImageUpdater-") for name in names)

    def test_topic_refuses_publishing_without_tls(self, template: Template) -> None:
        template.has_resource_properties(
            "AWS::SNS::TopicPolicy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sns:Publish",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                }
            },
        )

    def test_one_email_subscription_per_address(self, template: Template) -> None:
        template.resource_count_is("AWS::SNS::Subscription", 2)
        for address in ("ops@example.com", "euc-team@example.com"):
            template.has_resource_properties(
                "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": address}
            )

    def test_no_subscription_without_addresses(self, synth: Synth) -> None:
        synth(notificationEmails="").resource_count_is("AWS::SNS::Subscription", 0)


class TestAlarms:
    def test_unsuccessful_executions_alarm_e_mails_the_team(self, template: Template) -> None:
        topic = Capture()
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": "AppStreamImageUpdater-ExecutionsUnsuccessful",
                "AlarmActions": [{"Ref": topic}],
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
            },
        )
        assert topic.as_string() in template.find_resources("AWS::SNS::Topic")

    def test_a_period_with_only_failures_still_adds_up(self, template: Template) -> None:
        # Given the execution metrics, which publish no data point when nothing happened
        metrics = Capture()
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {"Metrics": metrics},
        )
        terms = {
            m["MetricStat"]["Metric"]["MetricName"]: m["Id"]
            for m in metrics.as_array()
            if "MetricStat" in m
        }
        assert set(terms) == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
        # When they are added up / Then every term counts as 0 when it has no data, so a
        # failure alone is not lost in a sum with missing terms
        (expression,) = [m for m in metrics.as_array() if "Expression" in m]
        assert expression["ReturnData"] is True
        assert sorted(expression["Expression"].split(" + ")) == sorted(
            f"FILL({metric_id}, 0)" for metric_id in terms.values()
        )

    def test_every_failed_scheduled_start_alarms_again(self, template: Template) -> None:
        # Given the queue the schedule sends its failed starts to
        queue = Capture()
        template.has_resource_properties(
            "AWS::Scheduler::Schedule",
            {
                "Target": Match.object_like(
                    {"DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}}
                )
            },
        )
        # Then the alarm counts the messages sent to it in each period (not the messages
        # kept there for 14 days), so it returns to OK and fires again on the next failure
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "NumberOfMessagesSent",
                "Dimensions": [
                    {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue.as_string(), "QueueName"]}}
                ],
                "Statistic": "Sum",
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": Match.string_like_regexp("NotificationsTopic")}],
            },
        )

    def test_no_alarm_watches_a_backlog_that_stays_for_days(self, template: Template) -> None:
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
            assert alarm["Properties"].get("MetricName") != "ApproximateNumberOfMessagesVisible"


class TestOutputs:
    def test_outputs_tell_the_admin_where_everything_is(self, template: Template) -> None:
        outputs = template.to_json()["Outputs"]
        assert set(outputs) == {
            "StateMachineArn",
            "StateMachineConsoleUrl",
            "TopicArn",
            "TopicConsoleUrl",
            "ScheduleName",
            "ConfiguredImages",
            "LedgerTableName",
            "ApprovalUrl",
            "DashboardUrl",
        }
        assert outputs["ConfiguredImages"]["Value"] == "ImgA,ImgB"
        assert all(output["Description"] for output in outputs.values())


class TestSecurityGate:
    def test_an_unacknowledged_cdk_nag_finding_fails_the_synth(self) -> None:
        # Given the app plus a queue that breaks AwsSolutions-SQS3/SQS4
        from aws_cdk import aws_sqs as sqs

        app = cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, "imageNames": "ImgA"})
        stack = build_app(app)
        sqs.Queue(stack, "Careless")
        # When synthesized / Then the cdk-nag validation stops it
        with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-SQS4"):
            app.synth()

    def test_the_real_app_synthesizes_with_every_finding_acknowledged(self) -> None:
        app = cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, "imageNames": "ImgA,ImgB"})
        build_app(app)
        assembly = app.synth()
        assert assembly.get_stack_by_name("AppStreamImageUpdater").template["Resources"]


# Who may publish to the notification topic: every publisher needs sns:Publish (from its
# identity policy or the topic policy) and the topic's key (from its identity policy, which
# the key policy's account statement lets count, or from the key policy itself). CDK's
# enforce_ssl replaced SNS's default topic policy, so nothing else lets anyone in.

_CLOUDWATCH = "cloudwatch.amazonaws.com"
_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
_ACCOUNT_ROOT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"


def _text(value: Any) -> str:
    """A template value as text, references as ${...}: comparable with an ARN pattern."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_text(part) for part in parts)
    raise AssertionError(f"cannot read {value!r} as text")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _alarm_arn(name: str) -> str:
    return f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{name}"


def _alarm_names(template: Template) -> list[str]:
    return [
        alarm["Properties"]["AlarmName"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
    ]


def _statements(template: Template, resource_type: str, document: str) -> list[dict[str, Any]]:
    return [
        statement
        for resource in template.find_resources(resource_type).values()
        for statement in resource["Properties"][document]["Statement"]
    ]


def _only(template: Template, resource_type: str) -> str:
    (logical_id,) = template.find_resources(resource_type)
    return logical_id


def _allows(statement: dict[str, Any], *actions: str) -> bool:
    from fnmatch import fnmatchcase

    granted = [a.lower() for a in _listed(statement["Action"])]
    return all(any(fnmatchcase(a.lower(), g) for g in granted) for a in actions)


def _conditions_hold(statement: dict[str, Any], context: dict[str, str]) -> bool:
    """Evaluates the condition operators this template uses; any other fails the test."""
    from fnmatch import fnmatchcase

    for operator, tests in statement.get("Condition", {}).items():
        for key, expected in tests.items():
            actual, values = context.get(key), [_text(v) for v in _listed(expected)]
            if actual is None:
                return False
            if operator in ("StringEquals", "Bool"):
                holds = actual in values
            elif operator == "ArnLike":
                holds = any(fnmatchcase(actual, v) for v in values)
            else:
                raise AssertionError(f"the test cannot evaluate {operator}")
            if not holds:
                return False
    return True


def _resource_policy(
    statements: list[dict[str, Any]],
    where: str,
    publisher: dict[str, Any],
    actions: tuple[str, ...],
) -> tuple[bool, list[str]]:
    """Whether one of the policy's Denies applies to the publisher's request, and the Allow
    statements that let it in by name (a role is only let in by its identity policy here)."""

    def names(principal: Any) -> bool:
        return principal == "*" or (
            "service" in publisher and publisher["service"] in _listed(principal.get("Service", []))
        )

    applying = [
        s
        for s in statements
        if names(s["Principal"])
        and _allows(s, *actions)
        and _conditions_hold(s, publisher["context"])
    ]
    denied = any(s["Effect"] == "Deny" for s in applying)
    return denied, [f"{where} {s['Sid']}" for s in applying if s["Effect"] == "Allow"]


def _identity_policy(
    template: Template,
    publisher: dict[str, Any],
    resource: dict[str, Any],
    actions: tuple[str, ...],
) -> list[str]:
    return [
        "identity policy"
        for statement in _policies_by_role(template).get(publisher.get("role", ""), [])
        if statement["Effect"] == "Allow"
        and _allows(statement, *actions)
        and any(r in (resource, "*") for r in _listed(statement["Resource"]))
    ]


def _publishers(template: Template, topic: str) -> dict[str, dict[str, Any]]:
    """Everything the template makes publish to the topic (alarm actions, sns:publish tasks)
    or lets publish to it (any role granted sns:Publish on it), with its request context."""
    import re

    found: dict[str, dict[str, Any]] = {}
    for logical_id, alarm in template.find_resources("AWS::CloudWatch::Alarm").items():
        properties = alarm["Properties"]
        if {"Ref": topic} in properties.get("AlarmActions", []):
            name = properties.get("AlarmName", logical_id)
            found[f"alarm {name}"] = {
                "service": _CLOUDWATCH,
                "context": {
                    "aws:SourceAccount": "${AWS::AccountId}",
                    "aws:SourceArn": _alarm_arn(name),
                    "aws:SecureTransport": "true",
                },
            }
    roles: dict[str, str] = {}
    for logical_id, machine in template.find_resources("AWS::StepFunctions::StateMachine").items():
        if ":states:::sns:publish" in _text(machine["Properties"]["DefinitionString"]):
            label = re.sub(r"[0-9A-F]{8}$", "", logical_id)
            roles[machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]] = f"state machine {label}"
    for role, statements in _policies_by_role(template).items():
        if any(
            _allows(s, "sns:Publish") and {"Ref": topic} in _listed(s["Resource"])
            for s in statements
        ):
            roles.setdefault(role, f"role {role}")
    for role, label in roles.items():
        found[label] = {"role": role, "context": {"aws:SecureTransport": "true"}}
    return found


class TestWhoMayPublish:
    def test_each_publisher_is_let_in_by_named_statements(self, template: Template) -> None:
        # Given the topic, its key and every publisher the template makes or allows
        topic, key = _only(template, "AWS::SNS::Topic"), _only(template, "AWS::KMS::Key")
        topic_policy = _statements(template, "AWS::SNS::TopicPolicy", "PolicyDocument")
        key_policy = _statements(template, "AWS::KMS::Key", "KeyPolicy")
        # (without this statement, identity policies cannot grant the key)
        key_policy_enables_iam = any(
            s["Effect"] == "Allow"
            and _text(s["Principal"].get("AWS", "")) == _ACCOUNT_ROOT
            and _allows(s, *_KEY_ACTIONS)
            for s in key_policy
        )
        # When each one's sns:Publish and key use are traced to the statements allowing them
        found: dict[str, tuple[list[str], list[str]]] = {}
        for name, publisher in _publishers(template, topic).items():
            denied, by_topic_policy = _resource_policy(
                topic_policy, "topic policy", publisher, ("sns:Publish",)
            )
            publish = (
                []
                if denied
                else by_topic_policy
                + _identity_policy(template, publisher, {"Ref": topic}, ("sns:Publish",))
            )
            denied, by_key_policy = _resource_policy(
                key_policy, "key policy", publisher, _KEY_ACTIONS
            )
            through_iam = [
                f"{grant} + key policy account statement"
                for grant in _identity_policy(
                    template, publisher, {"Fn::GetAtt": [key, "Arn"]}, _KEY_ACTIONS
                )
                if key_policy_enables_iam
            ]
            found[name] = (publish, [] if denied else by_key_policy + through_iam)
        # Then each publisher is let in, once for each, and no one else is a publisher
        cloudwatch_alarm = (
            ["topic policy AllowThisStacksAlarmsToPublish"],
            ["key policy AllowThisStacksAlarmsToUseTheKey"],
        )
        assert found == {
            "alarm AppStreamImageUpdater-ExecutionsUnsuccessful": cloudwatch_alarm,
            "alarm AppStreamImageUpdater-ScheduledStartsFailed": cloudwatch_alarm,
            "state machine WorkflowStateMachine": (
                ["identity policy"],
                ["identity policy + key policy account statement"],
            ),
        }

    def test_an_alarm_of_another_stack_or_account_is_not_let_in(self, template: Template) -> None:
        topic_policy = _statements(template, "AWS::SNS::TopicPolicy", "PolicyDocument")
        key_policy = _statements(template, "AWS::KMS::Key", "KeyPolicy")
        for context in (
            {"aws:SourceAccount": "${AWS::AccountId}", "aws:SourceArn": _alarm_arn("Other")},
            {
                "aws:SourceAccount": "111122223333",
                "aws:SourceArn": _alarm_arn("AppStreamImageUpdater-ExecutionsUnsuccessful"),
            },
        ):
            stranger = {"service": _CLOUDWATCH, "context": context}
            assert _resource_policy(topic_policy, "", stranger, ("sns:Publish",)) == (False, [])
            assert _resource_policy(key_policy, "", stranger, _KEY_ACTIONS) == (False, [])

    def test_the_topic_policy_allows_no_one_else(self, template: Template) -> None:
        allows = [
            s
            for s in _statements(template, "AWS::SNS::TopicPolicy", "PolicyDocument")
            if s["Effect"] == "Allow"
        ]
        assert [(s["Sid"], s["Principal"], s["Action"]) for s in allows] == [
            ("AllowThisStacksAlarmsToPublish", {"Service": _CLOUDWATCH}, "sns:Publish")
        ]
