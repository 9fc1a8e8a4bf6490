"""The Lambda functions: one per workflow step, all from the same runtime package."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from image_updater import settings
from image_updater.breaker.settings import BreakerSettings
from image_updater.distribution.settings import DistributeSettings
from image_updater.observability import NAMESPACE, SERVICE
from image_updater.retention.settings import RetainSettings
from image_updater.rollout.settings import (
    HealthSettings,
    RolloutPlanSettings,
    RolloutSettings,
    WindowSettings,
)
from image_updater.update.settings import CreateSettings, PlanSettings, PollSettings, ReportSettings
from infra import powertools
from infra.config import UpdaterConfig
from infra.config.distribution import distribution_sentence
from infra.constructs import lambda_code, log_groups

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
# The newest Lambda Python runtime; Powertools publishes its layer for it (python3.14).
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
_DEFAULT_TIMEOUT = Duration.seconds(30)
_SLOW = Duration.minutes(2)  # the steps that page through images or fleets
# Each function's description (its handler module's name): "AppStream image updater: ...".
_DESCRIPTIONS = {
    "plan": "Validates the execution input",
    "check": "Finds the newest image of a lineage and dry-runs its update",
    "create": "Starts a managed image update",
    "poll": "Reads the state of the image being built",
    "report": "Writes the result e-mail",
    "retain": "Deletes a lineage's older images beyond keepImages, never a protected one",
    "breaker": "Counts failed scheduled runs; pauses the schedule at maxConsecutiveFailedRuns",
    "rollout_plan": "Finds the fleets tagged to follow a lineage and plans the roll-out",
    "rollout_fleets": "Puts tagged fleets on a new image, or canaries back on their previous one",
    "rollout_health": "Checks the canary fleets and their alarms",
    "rollout_approval": "Announces that a roll-out waits for a person's approval",
    "rollout_window": "Finds when production fleets may change",
    "rollout_report": "Writes the roll-out's e-mails",
    "rollout_verify": "Accepts only an approval the approval function recorded",
    "approval_url": "Records an approver's decision (IAM-authenticated function URL)",
    "spoke_discover": "Finds the newest images the hub shared that this spoke has not rolled out",
    "spoke_plan": "Finds the fleets tagged to follow a lineage and plans the hub image's roll-out",
    "spoke_fleets": "Puts tagged fleets on the hub's new image, or canaries back on their last",
    "spoke_health": "Checks the canary fleets and their alarms",
    "distribute": "Copies a new image to a Region, re-tags the copy, shares it with accounts",
    "distribution_report": "Writes the distributed e-mail and announces copies and shares",
}


# The value each settings variable (lambdas/image_updater/*/settings.py) takes from the
# configuration; a function is given those of the settings its handler reads.
_VALUES: Mapping[str, Callable[[UpdaterConfig], str]] = {
    "CONFIGURED_IMAGES": lambda config: json.dumps(list(config.image_names)),
    "NEW_IMAGE_TAGS": lambda config: json.dumps(dict(config.new_image_tags)),
    "MAX_POLLS": lambda config: str(config.max_polls),
    "MAX_UPDATE_HOURS": lambda config: str(config.max_update_hours),
    "MAX_CONCURRENT_UPDATES": lambda config: str(config.max_concurrent_updates),
    "KEEP_IMAGES": lambda config: str(config.keep_images),
    "MAX_CONSECUTIVE_FAILED_RUNS": lambda config: str(config.max_consecutive_failed_runs),
    "CANARY_SOAK_HOURS": lambda config: str(config.canary_soak_hours),
    "CANARY_ALARM_NAMES": lambda config: json.dumps(list(config.canary_alarm_names)),
    "REQUIRE_APPROVAL": lambda config: json.dumps(config.require_approval),
    "APPROVAL_TIMEOUT_HOURS": lambda config: str(config.approval_timeout_hours),
    "ROLLOUT_WINDOW": lambda config: config.rollout_window,
    "SCHEDULE_TIMEZONE": lambda config: config.schedule_timezone,
    "ALLOW_UNTESTED_PRODUCTION": lambda config: json.dumps(config.allow_untested_production),
    "HUB_ACCOUNT_ID": lambda config: config.hub_account_id,
}
_POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": SERVICE,
    "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


class RolloutFunctions(Construct):
    """The roll-out's steps (infra/workflow/rollout.py), and how every function is made; IAM is
    granted by the stack. Each function is given the variables of the settings its handler
    reads (SCHEDULE_NAME and SCHEDULE_GROUP, LEDGER_TABLE: by the constructs they name)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: UpdaterConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._layer = powertools.layer(
            self, "PowertoolsLayer", runtime=RUNTIME, architecture=ARCHITECTURE
        )
        self.all: tuple[lambda_.Function, ...] = ()

    def _add_rollout(
        self,
        prefix: str = "rollout",
        reads: tuple[type[settings.FromEnvironment], ...] = (),
    ) -> None:
        """The roll-out's steps. The steps that look at images or change fleets are the
        `prefix` ones (a spoke's see the hub's images), reading `reads` too; the others are
        the same everywhere."""
        first = len(self.all)
        self.rollout_plan = self._function(
            f"{prefix}_plan", RolloutPlanSettings, *reads, timeout=_SLOW
        )
        self.rollout_fleets = self._function(f"{prefix}_fleets", *reads, timeout=_SLOW)
        self.rollout_health = self._function(f"{prefix}_health", HealthSettings, *reads)
        self.rollout_approval = self._function("rollout_approval")
        self.rollout_window = self._function("rollout_window", WindowSettings)
        self.rollout_report = self._function("rollout_report", RolloutSettings, ReportSettings)
        # Approval by the approvers only (image_updater/approval/): created when it is required.
        self.rollout_verify: lambda_.Function | None = None
        self.approval_url: lambda_.Function | None = None
        if self._config.require_approval:
            self.rollout_verify = self._function("rollout_verify")
            self.approval_url = self._function("approval_url")
            self.approval_url.add_environment("APPROVERS", json.dumps(list(self._config.approvers)))
        self.rollout = self.all[first:]

    def _function(
        self,
        module: str,
        *reads: type[settings.FromEnvironment],
        timeout: Duration = _DEFAULT_TIMEOUT,
    ) -> lambda_.Function:
        construct_id = "".join(
            part.title() for part in module.split("_")
        )  # rollout_plan: RolloutPlan
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
            description=f"AppStream image updater: {_DESCRIPTIONS[module]}",
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
            environment={
                **_POWERTOOLS,
                **{
                    name: _VALUES[name](self._config) for kind in reads for name in kind.variables()
                },
            },
            log_group=log_group,
            role=role,
        )
        self.all = (*self.all, function)
        return function


class UpdaterFunctions(RolloutFunctions):
    """plan, check, create, poll, report, retain and breaker, and the roll-out's steps."""

    def __init__(self, scope: Construct, construct_id: str, *, config: UpdaterConfig) -> None:
        super().__init__(scope, construct_id, config=config)
        self.plan = self._function("plan", PlanSettings)
        self.check = self._function("check", timeout=_SLOW)
        self.create = self._function("create", CreateSettings)
        self.poll = self._function("poll", PollSettings)
        self.report = self._function("report", ReportSettings)
        self.retain = self._function("retain", RetainSettings, timeout=_SLOW)
        self.breaker = self._function("breaker", BreakerSettings)
        # The roll-out to fleets (infra/workflow/rollout.py).
        self._add_rollout()
        # Distribution to Regions and accounts (infra/workflow/distribution.py): created when
        # copyToRegions or shareWithAccounts is set.
        self.distribute: lambda_.Function | None = None
        self.distribution_report: lambda_.Function | None = None
        if config.distributes:
            self.distribute = self._function("distribute", DistributeSettings, timeout=_SLOW)
            self.distribution_report = self._function("distribution_report")
            self.report.add_environment("DISTRIBUTION", distribution_sentence(config))
