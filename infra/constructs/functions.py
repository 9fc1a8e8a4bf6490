"""The Lambda functions: one per workflow step, all from the same runtime package."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from image_updater.observability import NAMESPACE, SERVICE
from infra import powertools
from infra.config import UpdaterConfig
from infra.constructs import lambda_code, log_groups

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
# The newest Lambda Python runtime; Powertools publishes its layer for it (python3.14).
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
_DEFAULT_TIMEOUT = Duration.seconds(30)


class UpdaterFunctions(Construct):
    """plan, check, create, poll, report, retain and breaker, and the roll-out's steps; IAM
    is granted by the stack."""

    def __init__(self, scope: Construct, construct_id: str, *, config: UpdaterConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._layer = powertools.layer(
            self, "PowertoolsLayer", runtime=RUNTIME, architecture=ARCHITECTURE
        )
        self._environment = {
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "CONFIGURED_IMAGES": json.dumps(list(config.image_names)),
            "NEW_IMAGE_TAGS": json.dumps(dict(config.new_image_tags)),
            "MAX_POLLS": str(config.max_polls),
            "MAX_UPDATE_HOURS": str(config.max_update_hours),
            "MAX_CONCURRENT_UPDATES": str(config.max_concurrent_updates),
        }
        self.plan = self._function("Plan", "plan", "Validates the execution input")
        self.check = self._function(
            "Check",
            "check",
            "Finds the newest image of a lineage and dry-runs its update",
            timeout=Duration.minutes(2),
        )
        self.create = self._function("Create", "create", "Starts a managed image update")
        self.poll = self._function("Poll", "poll", "Reads the state of the image being built")
        self.report = self._function("Report", "report", "Writes the result e-mail")
        self.retain = self._function(
            "Retain",
            "retain",
            "Deletes a lineage's older images beyond keepImages, never a protected one",
            timeout=Duration.minutes(2),
        )
        for function in (self.retain, self.create):  # create explains quota refusals
            function.add_environment("KEEP_IMAGES", str(config.keep_images))
        self.breaker = self._function(
            "Breaker",
            "breaker",
            "Counts failed scheduled runs; pauses the schedule at maxConsecutiveFailedRuns",
        )
        self.breaker.add_environment(
            "MAX_CONSECUTIVE_FAILED_RUNS", str(config.max_consecutive_failed_runs)
        )
        # The roll-out to fleets (infra/workflow/rollout.py).
        self.rollout_plan = self._function(
            "RolloutPlan",
            "rollout_plan",
            "Finds the fleets tagged to follow a lineage and plans the roll-out",
            timeout=Duration.minutes(2),
        )
        self.rollout_fleets = self._function(
            "RolloutFleets",
            "rollout_fleets",
            "Puts tagged fleets on a new image, or canaries back on their previous one",
            timeout=Duration.minutes(2),
        )
        self.rollout_health = self._function(
            "RolloutHealth", "rollout_health", "Checks the canary fleets and their alarms"
        )
        self.rollout_approval = self._function(
            "RolloutApproval",
            "rollout_approval",
            "Announces that a roll-out waits for a person's approval",
        )
        self.rollout_window = self._function(
            "RolloutWindow", "rollout_window", "Finds when production fleets may change"
        )
        self.rollout_report = self._function(
            "RolloutReport", "rollout_report", "Writes the roll-out's e-mails"
        )
        # Approval by the approvers only (image_updater/approval/): created when it is required.
        self.rollout_verify: lambda_.Function | None = None
        self.approval_url: lambda_.Function | None = None
        if config.require_approval:
            self.rollout_verify = self._function(
                "RolloutVerify",
                "rollout_verify",
                "Accepts only an approval the approval function recorded",
            )
            self.approval_url = self._function(
                "ApprovalUrl",
                "approval_url",
                "Records an approver's decision (IAM-authenticated function URL)",
            )
            self.approval_url.add_environment("APPROVERS", json.dumps(list(config.approvers)))
        rollout_settings = {
            "CANARY_SOAK_HOURS": str(config.canary_soak_hours),
            "CANARY_ALARM_NAMES": json.dumps(list(config.canary_alarm_names)),
            "REQUIRE_APPROVAL": "true" if config.require_approval else "false",
            "APPROVAL_TIMEOUT_HOURS": str(config.approval_timeout_hours),
            "ROLLOUT_WINDOW": config.rollout_window,
            "SCHEDULE_TIMEZONE": config.schedule_timezone,
            "ALLOW_UNTESTED_PRODUCTION": "true" if config.allow_untested_production else "false",
        }
        for function in (
            self.rollout_plan,
            self.rollout_health,
            self.rollout_window,
            self.rollout_report,
        ):
            for key, value in rollout_settings.items():
                function.add_environment(key, value)

    @property
    def all(self) -> tuple[lambda_.Function, ...]:
        return (
            self.plan,
            self.check,
            self.create,
            self.poll,
            self.report,
            self.retain,
            self.breaker,
            *self.rollout,
        )

    @property
    def rollout(self) -> tuple[lambda_.Function, ...]:
        return (
            self.rollout_plan,
            self.rollout_fleets,
            self.rollout_health,
            self.rollout_approval,
            self.rollout_window,
            self.rollout_report,
            *(f for f in (self.rollout_verify, self.approval_url) if f is not None),
        )

    def _function(
        self,
        construct_id: str,
        module: str,
        description: str,
        *,
        timeout: Duration = _DEFAULT_TIMEOUT,
    ) -> lambda_.Function:
        log_group = log_groups.create(self, f"{construct_id}Logs", self._config.log_retention_days)
        # An explicit role, so no managed policy is attached (cdk-nag IAM4): logs go only to
        # the function's own log group.
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"AppStream image updater {module} function",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        function = lambda_.Function(
            self,
            construct_id,
            description=f"AppStream image updater: {description}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            # One asset per function, holding only the modules its handler imports
            # (infra/constructs/lambda_code.py): the smallest code each cold start loads, and
            # no function ships another's (the roll-out's code is not in the update's, and
            # only the approval function's asset holds the code that answers a waiting task).
            code=lambda_.Code.from_asset(
                str(LAMBDAS_DIR), exclude=lambda_code.excluded(LAMBDAS_DIR, (module,))
            ),
            handler=f"image_updater.handlers.{module}.handler",
            layers=[self._layer],
            memory_size=256,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            environment=self._environment,
            log_group=log_group,
            role=role,
        )
        return function
