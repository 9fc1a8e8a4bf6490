"""The spoke stack: composes the hub's constructs (notifications, ledger, schedule,
monitoring, the roll-out's functions and sub-flow, the approval function URL) around a spoke's
discover step, and grants no action that changes an image (tests/infra/test_spoke_stack.py)."""

from __future__ import annotations

import dataclasses

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from image_updater.retention.roles import SPOKE_LEDGER_TABLE
from infra.config import UpdaterConfig
from infra.constructs.approval import wire_approval
from infra.constructs.chat import connect_chat
from infra.constructs.dashboard import OperationsDashboard
from infra.constructs.ledger import Ledger
from infra.constructs.monitoring import monitor
from infra.constructs.notifications import Notifications
from infra.constructs.rollout_grants import grant_rollout
from infra.constructs.schedule import UpdateSchedule
from infra.findings import XRAY, acknowledge_functions_and_workflow, rollout_reasons
from infra.spoke.functions import SpokeFunctions
from infra.spoke.reader import hub_reader_role
from infra.spoke.team import TeamParameters
from infra.spoke.workflow import SpokeWorkflow

SPOKE_STACK_NAME = "AppStreamImageUpdaterSpoke"


class ImageUpdaterSpokeStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: UpdaterConfig,
        team_parameters: bool = False,
        **kwargs: object,
    ) -> None:
        """`team_parameters`: the StackSet's spokes take their e-mails and approvers as
        parameters (team.py), so that each OU gets its own; a standalone spoke has them in
        its template."""
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        team = TeamParameters(self, "Team", config=config) if team_parameters else None
        if team is not None:
            # The lists are the parameters' defaults; the constructs below get none of them.
            config = dataclasses.replace(config, notification_emails=(), approvers=())
        notifications = Notifications(self, "Notifications", emails=config.notification_emails)
        if team is not None:
            team.subscribe(notifications.topic)
        connect_chat(self, config, notifications.topic)
        functions = SpokeFunctions(self, "Functions", config=config)
        # A fixed name: the hub's retention reads it through the reader role (reader.py).
        ledger = Ledger(self, "Ledger", table_name=SPOKE_LEDGER_TABLE)
        self.hub_reader = hub_reader_role(self, config.hub_account_id, ledger)
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
        monitoring = monitor(
            self, workflow.state_machine, schedule.dead_letter_queue, notifications
        )
        # The roll-out's part of the hub's dashboard: a spoke builds no image.
        dashboard = OperationsDashboard(
            self,
            "Operations",
            state_machine=workflow.state_machine,
            alarms=monitoring.alarms,
            spoke=True,
        )
        self._grant(config, functions)
        wire_approval(self, config, functions, ledger)
        if team is not None and functions.approval_url is not None:
            team.admit_approvers(functions.approval_url)
        self._outputs(config, workflow, notifications, schedule, ledger)
        dashboard.output(self)
        self._acknowledge_findings(functions, workflow, schedule)

    @staticmethod
    def _grant(config: UpdaterConfig, functions: SpokeFunctions) -> None:
        """Read images and fleets; only the fleets step changes anything (UpdateFleet on
        tagged fleets, to this account's, AWS's public or the hub's images, and the rollback
        record's tags). No image action beyond DescribeImages."""
        functions.discover.add_to_role_policy(
            iam.PolicyStatement(actions=["appstream:DescribeImages"], resources=["*"])
        )
        # The hub's account: UpdateFleet may name its images (shared with this account).
        image_accounts = sorted({*config.rollback_image_accounts, config.hub_account_id})
        grant_rollout(functions, config.image_names, image_accounts, config.canary_alarm_names)

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
        reasons = {
            **rollout_reasons(functions),
            functions.discover: f"{XRAY}; appstream:DescribeImages supports no resource-level "
            "permissions and only reads",
        }
        acknowledge_functions_and_workflow(
            self, functions.all, reasons, workflow.state_machine, schedule.dead_letter_queue
        )
