"""The spoke stack: composes the hub's constructs (notifications, ledger, schedule,
monitoring, the roll-out's functions and sub-flow, the approval function URL) around a spoke's
discover step, and grants no action that changes an image (tests/infra/test_spoke_stack.py)."""

from __future__ import annotations

from aws_cdk import Aws, CfnElement, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import UpdaterConfig
from infra.constructs.approval import SEND_TASK_SUCCESS_REASON, wire_approval
from infra.constructs.events import grant_put_events
from infra.constructs.ledger import Ledger
from infra.constructs.monitoring import Monitoring
from infra.constructs.notifications import Notifications
from infra.constructs.rollout_grants import (
    grant_change_tagged_fleets,
    grant_read_alarms,
    grant_read_fleets,
)
from infra.constructs.schedule import UpdateSchedule
from infra.spoke.functions import SpokeFunctions
from infra.spoke.workflow import SpokeWorkflow
from infra.stack import _acknowledge

SPOKE_STACK_NAME = "AppStreamImageUpdaterSpoke"


class ImageUpdaterSpokeStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: UpdaterConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        notifications = Notifications(self, "Notifications", emails=config.notification_emails)
        functions = SpokeFunctions(self, "Functions", config=config)
        ledger = Ledger(self, "Ledger")
        ledger.grant_spoke_claims(functions.discover)
        ledger.grant_rollback_records(functions.rollout_fleets, "PutItem", "GetItem", "DeleteItem")
        workflow = SpokeWorkflow(
            self,
            "Workflow",
            config=config,
            functions=functions,
            topic=notifications.topic,
            ledger=ledger.table,
        )
        schedule = UpdateSchedule(
            self, "Schedule", config=config, state_machine=workflow.state_machine
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            state_machine=workflow.state_machine,
            dead_letter_queue=schedule.dead_letter_queue,
            topic=notifications.topic,
        )
        notifications.key.grant(workflow.state_machine, "kms:Decrypt", "kms:GenerateDataKey")
        notifications.allow_alarms_to_publish(monitoring.alarm_names)
        self._grant(config, functions)
        wire_approval(self, config, functions, ledger)
        self._outputs(config, workflow, notifications, schedule, ledger)
        self._acknowledge_findings(functions, workflow, schedule)

    @staticmethod
    def _grant(config: UpdaterConfig, functions: SpokeFunctions) -> None:
        """Read images and fleets; only the fleets step changes anything (UpdateFleet on
        tagged fleets, to this account's, AWS's public or the hub's images, and the rollback
        record's tags). No image action beyond DescribeImages."""
        functions.discover.add_to_role_policy(
            iam.PolicyStatement(actions=["appstream:DescribeImages"], resources=["*"])
        )
        grant_read_fleets(functions.rollout_plan, images=True)
        grant_read_fleets(functions.rollout_fleets, images=True)
        image_accounts = sorted({*config.rollback_image_accounts, config.hub_account_id})
        grant_change_tagged_fleets(functions.rollout_fleets, config.image_names, image_accounts)
        grant_read_fleets(functions.rollout_health, images=True)
        grant_read_fleets(functions.rollout_report)
        grant_read_alarms(functions.rollout_health, config.canary_alarm_names)
        for function in (
            functions.rollout_fleets,
            functions.rollout_approval,
            functions.rollout_window,
            functions.rollout_report,
        ):
            grant_put_events(function)

    def _outputs(
        self,
        config: UpdaterConfig,
        workflow: SpokeWorkflow,
        notifications: Notifications,
        schedule: UpdateSchedule,
        ledger: Ledger,
    ) -> None:
        machine = workflow.state_machine.state_machine_arn
        outputs = {
            "StateMachineArn": (machine, "Rolls the hub's new images out; start it to run now"),
            "TopicArn": (notifications.topic.topic_arn, "Subscribe more addresses here"),
            "ScheduleName": (
                schedule.schedule.schedule_name,
                f"{config.schedule_expression} ({config.schedule_timezone}): looks for the "
                "hub's new images",
            ),
            "HubAccountId": (config.hub_account_id, "The account whose images are rolled out"),
            "ConfiguredImages": (",".join(config.image_names), "Lineages rolled out"),
            "LedgerTableName": (
                ledger.table.table_name,
                "The spoke's memory: images rolled out, rollback records, approvals",
            ),
            "ConsoleUrl": (
                f"https://{Aws.REGION}.console.aws.amazon.com/states/home?region={Aws.REGION}"
                f"#/statemachines/view/{machine}",
                "Executions, state by state",
            ),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)

    def _acknowledge_findings(
        self, functions: SpokeFunctions, workflow: SpokeWorkflow, schedule: UpdateSchedule
    ) -> None:
        """cdk-nag (AwsSolutions) findings that are intended, one by one, with the reason."""
        xray = (
            "xray:PutTraceSegments and xray:PutTelemetryRecords (X-Ray active tracing) "
            "support no resource-level permissions"
        )
        fleets_read = (
            "appstream:DescribeFleets, DescribeImages and ListTagsForResource support no "
            "resource-level permissions; all only read"
        )
        reasons = {
            functions.discover: f"{xray}; appstream:DescribeImages supports no resource-level "
            "permissions and only reads",
            functions.rollout_plan: f"{xray}; {fleets_read}",
            functions.rollout_fleets: f"{xray}; {fleets_read}",
            functions.rollout_health: f"{xray}; {fleets_read}",
            functions.rollout_report: f"{xray}; {fleets_read}",
        }
        if functions.approval_url is not None:
            reasons[functions.approval_url] = f"{xray}; {SEND_TASK_SUCCESS_REASON}"
        for function in functions.all:
            _acknowledge(
                function.role, "AwsSolutions-IAM5[Resource::*]", reasons.get(function, xray)
            )
        machine = workflow.state_machine
        _acknowledge(
            machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and related) "
            "support no resource-level permissions",
        )
        for function in functions.all:
            resource = function.node.default_child
            assert isinstance(resource, CfnElement)
            logical_id = self.resolve(self.get_logical_id(resource))
            _acknowledge(
                machine.role,
                f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
                "Step Functions' Lambda integration is granted every version of the "
                "updater's own function",
            )
        _acknowledge(
            schedule.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the schedule's dead-letter queue",
        )
