"""The stack: composes the constructs and wires the permissions between them."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from image_updater.domain import naming
from infra.arns import appstream_arn
from infra.config import UpdaterConfig
from infra.constructs.approval import wire_approval
from infra.constructs.chat import connect_chat
from infra.constructs.dashboard import OperationsDashboard
from infra.constructs.distribution_grants import grant_distribution, grant_distribution_records
from infra.constructs.events import grant_put_events
from infra.constructs.functions import UpdaterFunctions
from infra.constructs.ledger import Ledger
from infra.constructs.monitoring import monitor
from infra.constructs.notifications import Notifications
from infra.constructs.retention_grants import grant_retention_everywhere
from infra.constructs.rollout_grants import grant_rollout
from infra.constructs.schedule import UpdateSchedule
from infra.constructs.workflow import UpdateWorkflow
from infra.findings import acknowledge as _acknowledge
from infra.findings import (
    acknowledge_child_workflow,
    acknowledge_functions_and_workflow,
    rollout_reasons,
    xray_and,
)
from infra.workflow.fragment import WorkflowParts


class ImageUpdaterStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: UpdaterConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        notifications = Notifications(self, "Notifications", emails=config.notification_emails)
        connect_chat(self, config, notifications.topic)
        functions = UpdaterFunctions(self, "Functions", config=config)
        ledger = Ledger(self, "Ledger")
        ledger.grant_lineage_lock(functions.create, config.image_names)
        ledger.grant_report_tracking(functions.check, config.image_names)
        ledger.grant_report_claims(functions.check, config.image_names)
        ledger.grant_report_claims(functions.poll, config.image_names)
        ledger.grant_create_records_read(functions.poll)
        # Rollback records: written and used by the function that changes fleets; listed by
        # retention (never delete a rollback target) and by create's quota e-mail.
        ledger.grant_rollback_records(functions.rollout_fleets, "PutItem", "GetItem", "DeleteItem")
        ledger.grant_rollback_records(functions.retain, "Query")
        ledger.grant_rollback_records(functions.create, "Query")
        # Own EventBridge events: create announces a start, report each update's end, retain
        # what it deleted.
        grant_put_events(functions.create)
        grant_put_events(functions.report)
        grant_put_events(functions.retain)
        # The workflow marks each final report sent in the ledger (UpdateItem, granted by its
        # DynamoDB task) once SNS accepted the e-mail.
        parts = WorkflowParts(config, functions, notifications.topic, ledger.table)
        workflow = UpdateWorkflow(self, "Workflow", parts)
        schedule = UpdateSchedule(
            self, "Schedule", config=config, state_machine=workflow.state_machine
        )
        if config.max_consecutive_failed_runs:
            # The breaker counts in the ledger, pauses the schedule, and announces the pause.
            ledger.grant_breaker(functions.breaker)
            schedule.grant_pause(functions.breaker)
            grant_put_events(functions.breaker)
        monitoring = monitor(
            self,
            workflow.state_machine,
            schedule.dead_letter_queue,
            notifications,
            config.max_patch_age_days,
        )
        dashboard = OperationsDashboard(
            self,
            "Operations",
            state_machine=workflow.state_machine,
            alarms=monitoring.alarms,
            lineages=config.image_names,
            max_patch_age_days=config.max_patch_age_days,
        )
        self._grant_appstream(config, functions)
        self._grant_retention(config, functions)
        grant_retention_everywhere(config, functions.retain)
        grant_rollout(
            functions,
            config.image_names,
            config.rollback_image_accounts,
            config.canary_alarm_names,
        )
        if functions.distribute is not None and functions.distribution_report is not None:
            grant_distribution(config, functions.distribute, functions.distribution_report)
            assert workflow.distribution is not None
            grant_distribution_records(
                self,
                functions.distribute,
                ledger,
                config.image_names,
                (workflow.state_machine, workflow.distribution),
            )
        wire_approval(self, config, functions, ledger)
        self._outputs(config, workflow, notifications, schedule, ledger)
        dashboard.output(self)
        self._acknowledge_findings(config, functions, workflow, schedule)

    def _grant_appstream(self, config: UpdaterConfig, functions: UpdaterFunctions) -> None:
        lineage_images = [
            appstream_arn(self, "image", name)
            for root in config.image_names
            for name in (root, naming.lineage_prefix(root) + "*")
        ]
        # DescribeImages and ListTagsForResource support no resource-level permissions, so
        # IAM only accepts "*" for them; they only read.
        read_images = iam.PolicyStatement(
            actions=["appstream:DescribeImages", "appstream:ListTagsForResource"],
            resources=["*"],
        )
        dry_run = iam.PolicyStatement(
            actions=["appstream:CreateUpdatedImage"], resources=lineage_images
        )
        # Passing newImageTags to CreateUpdatedImage also needs TagResource.
        start_update = iam.PolicyStatement(
            actions=["appstream:CreateUpdatedImage", "appstream:TagResource"],
            resources=lineage_images,
        )
        functions.check.add_to_role_policy(read_images)
        functions.check.add_to_role_policy(dry_run)
        functions.create.add_to_role_policy(read_images)
        # A quota refusal's e-mail lists what retention would delete and why it has not:
        # the same read-only facts retention reads.
        functions.create.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "appstream:DescribeFleets",
                    "appstream:DescribeImageBuilders",
                    "appstream:DescribeImagePermissions",
                ],
                resources=["*"],
            )
        )
        functions.create.add_to_role_policy(start_update)
        functions.poll.add_to_role_policy(
            iam.PolicyStatement(actions=["appstream:DescribeImages"], resources=["*"])
        )

    def _grant_retention(self, config: UpdaterConfig, functions: UpdaterFunctions) -> None:
        """retain: read what protects each image, and delete only the lineages' derived
        images that still carry their lineage's tag (IAM checks the tag on the image itself,
        so an image whose tag was removed or changed cannot be deleted, whatever the code
        decides)."""
        retain = functions.retain
        retain.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "appstream:DescribeImages",
                    "appstream:ListTagsForResource",
                    "appstream:DescribeFleets",
                    "appstream:DescribeImageBuilders",
                    "appstream:DescribeImagePermissions",
                ],
                resources=["*"],
            )
        )
        # (ListTagsForResource above also reads the fleets' rollback records: an image a
        # fleet may go back to is never deleted.)
        for root in config.image_names:
            derived = appstream_arn(self, "image", naming.lineage_prefix(root) + "*")
            retain.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["appstream:DeleteImage"],
                    resources=[derived],
                    conditions={
                        "StringEquals": {f"aws:ResourceTag/{naming.LINEAGE_ROOT_TAG}": root}
                    },
                )
            )
            _acknowledge(
                retain.role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appstream:<AWS::Region>:"
                f"<AWS::AccountId>:image/{naming.lineage_prefix(root)}*]",
                f"DeleteImage is limited to images named like {root}'s derived images that "
                f"carry the lineage tag {naming.LINEAGE_ROOT_TAG}={root}",
            )

    def _outputs(
        self,
        config: UpdaterConfig,
        workflow: UpdateWorkflow,
        notifications: Notifications,
        schedule: UpdateSchedule,
        ledger: Ledger,
    ) -> None:
        console = f"https://{Aws.REGION}.console.aws.amazon.com"
        machine = workflow.state_machine.state_machine_arn
        topic = notifications.topic.topic_arn
        outputs = {
            "StateMachineArn": (machine, "Runs the updates; start it by hand to run now"),
            "StateMachineConsoleUrl": (
                f"{console}/states/home?region={Aws.REGION}#/statemachines/view/{machine}",
                "Executions, state by state",
            ),
            "TopicArn": (topic, "Subscribe more addresses or endpoints here"),
            "TopicConsoleUrl": (
                f"{console}/sns/v3/home?region={Aws.REGION}#/topic/{topic}",
                "Subscriptions (confirm e-mail subscriptions from the message AWS sends)",
            ),
            "ScheduleName": (
                schedule.schedule.schedule_name,
                f"{config.schedule_expression} ({config.schedule_timezone}), "
                + ("enabled" if config.schedule_enabled else "PAUSED (scheduleEnabled=false)"),
            ),
            "ConfiguredImages": (",".join(config.image_names), "Images kept updated"),
            "LedgerTableName": (
                ledger.table.table_name,
                "The updater's memory across runs: locks, reports owed, the breaker's count "
                "(run-now --resume-schedule resets it)",
            ),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)

    def _acknowledge_findings(
        self,
        config: UpdaterConfig,
        functions: UpdaterFunctions,
        workflow: UpdateWorkflow,
        schedule: UpdateSchedule,
    ) -> None:
        """cdk-nag (AwsSolutions) findings that are intended, one by one, with the reason."""
        appstream_read = (
            "appstream:DescribeImages and appstream:ListTagsForResource support no "
            "resource-level permissions; both only read"
        )
        retention_read = (
            "appstream:DescribeImages, ListTagsForResource, DescribeFleets, "
            "DescribeImageBuilders and DescribeImagePermissions support no resource-level "
            "permissions; all only read"
        )
        reasons = {
            **rollout_reasons(functions),
            **xray_and(appstream_read, functions.check, functions.poll),
            **xray_and(retention_read, functions.create, functions.retain),
        }
        if functions.distribute is not None:
            reasons |= xray_and(appstream_read, functions.distribute)
        acknowledge_functions_and_workflow(
            self, functions.all, reasons, workflow.state_machine, schedule.dead_letter_queue
        )
        if workflow.distribution is not None:
            assert functions.distribute is not None and functions.distribution_report is not None
            acknowledge_child_workflow(
                self,
                workflow.state_machine,
                workflow.distribution,
                (functions.distribute, functions.distribution_report),
            )
        for function in (functions.check, functions.create):
            for root in config.image_names:
                _acknowledge(
                    function.role,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appstream:<AWS::Region>:"
                    f"<AWS::AccountId>:image/{naming.lineage_prefix(root)}*]",
                    f"CreateUpdatedImage must name images the updater creates from {root}; "
                    "their names are the root's prefix plus the run's timestamp",
                )
