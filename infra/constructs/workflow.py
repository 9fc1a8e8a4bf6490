"""The Step Functions workflow, composed top to bottom from its sub-flows (infra/workflow/):

    Plan -> Map over images ( UpdateOneImage: Check -> [Create] -> Wait -> Poll -> ...
                              -> ReportAndSend )
         -> Summarize -> RecordForTheBreaker
         -> Map over the results ( RollOutOneImage: fleets tagged for a new image's lineage:
                                   canary -> soak -> health -> approval -> window -> production )
         -> Summarize the roll-outs -> Succeed | Fail

Every error inside an image's branch is caught into that image's failure e-mail, so one
image never stops the others; the execution still ends FAILED when any image failed, so
the alarm sees it. A dry run sends no e-mail: its errors become part of its results.
The breaker's step (infra/workflow/breaker.py) counts failed scheduled runs and may pause
the schedule; whatever happens to it, the run still ends as its images decided. An image that
could not be checked is no failure (update/messages/could_not_check.py): Summarize passes it on as
`anyUnchecked`, on which the breaker neither counts nor resets. The roll-outs
(infra/workflow/rollout.py) come after it, side by side without a concurrency limit: one
waiting days for its approval holds no update slot, and none counts toward the breaker; a
failed or rolled-back roll-out still ends the run FAILED, so the alarm sees it.

No state holds more than the execution input itself (256 KiB at most): the input goes to
Plan unwrapped, and what the Lambdas return is capped (see `errors.shortened`), because
`States.DataLimitExceeded` cannot be caught and would end a run without an e-mail.
"""

from __future__ import annotations

import math

from aws_cdk import Duration, Stack
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.models import CHECK_FAILED
from infra.config import UpdaterConfig
from infra.constructs import log_groups
from infra.workflow import states
from infra.workflow.breaker import RecordForTheBreaker
from infra.workflow.distribute_each import distribute_each_image
from infra.workflow.distribution import (
    A_DISTRIBUTION_FAILED,
    IMAGE_DISTRIBUTION_HOURS,
    ImageDistribution,
    distribution_hours,
)
from infra.workflow.fragment import WorkflowParts
from infra.workflow.notify import ReportAndSend
from infra.workflow.rollout import roll_out_each_image, rollout_hours, summarize_the_rollouts
from infra.workflow.tasks import Catch, invoke
from infra.workflow.update_image import UpdateOneImage

# Slack per batch of images for retries and the checks around the build itself.
_BATCH_SLACK_HOURS = 3
# How a run ends FAILED, in the order checked: the flag in the state, the Fail state, its error
# and cause.
_FAILURES = (
    (
        "$.anyFailed",
        states.SOME_IMAGES_FAILED,
        "ImageUpdatesFailed",
        "At least one image failed to update; each failure was e-mailed.",
    ),
    (
        "$.rolloutSummary.anyFailed",
        states.A_ROLLOUT_FAILED,
        "RolloutFailed",
        "A roll-out to fleets failed or was rolled back; each was e-mailed.",
    ),
)


def execution_timeout(config: UpdaterConfig) -> Duration:
    """Images are processed `maxConcurrentUpdates` at a time; each batch may take up to
    `maxUpdateHours` plus retries. Reaching this timeout is itself alarmed and e-mailed."""
    batches = math.ceil(len(config.image_names) / config.max_concurrent_updates)
    updates = batches * (config.max_update_hours + _BATCH_SLACK_HOURS)
    # The roll-outs run side by side after the updates: the longest one is what they add;
    # then the distribution, when configured.
    return Duration.hours(updates + rollout_hours(config) + distribution_hours(config))


class UpdateWorkflow(Construct):
    def __init__(self, scope: Construct, construct_id: str, parts: WorkflowParts) -> None:
        super().__init__(scope, construct_id)
        config, functions, topic = parts.config, parts.functions, parts.topic
        definition = (
            self._plan(parts)
            .next(self._update_each_image(parts))
            .next(self._summarize())
            .next(
                RecordForTheBreaker(
                    self,
                    "Breaker",
                    breaker=functions.breaker,
                    topic=topic,
                    chat=config.chat_configured,
                )
            )
            .next(roll_out_each_image(self, parts))
            .next(summarize_the_rollouts(self))
        )
        if config.distributes:
            self.distribution: sfn.StateMachine | None = DistributionWorkflow(
                self, "Distribution", parts
            ).state_machine
            assert functions.distribute is not None
            definition = definition.next(
                distribute_each_image(
                    self, self.distribution, IMAGE_DISTRIBUTION_HOURS, functions.distribute
                )
            )
        else:
            self.distribution = None
        definition = definition.next(self._end_as_decided(distributes=config.distributes))

        self.state_machine = state_machine(
            self,
            config,
            definition,
            comment="Keeps AppStream images updated with managed image updates",
            timeout=execution_timeout(config),
        )

    def _plan(self, parts: WorkflowParts) -> tasks.LambdaInvoke:
        """Plan the run; if it cannot start, keep only the error (never the input), e-mail it
        and end FAILED whether or not the e-mail could be sent."""
        refused = sfn.Fail(
            self,
            states.RUN_REFUSED,
            error="RunRefused",
            cause="The run could not start; the reason was e-mailed.",
        )
        report_refusal = ReportAndSend(
            self, "NotifyRefusal", parts, report=parts.functions.report, for_refusal=True
        )
        keep_the_refusal = sfn.Pass(self, states.KEEP_THE_REFUSAL, parameters={"error.$": "$"})
        # The input goes to Plan as it is (any JSON value, up to the 256 KiB an execution
        # input may have): wrapping it could push a state over the limit.
        return invoke(
            self,
            states.PLAN,
            parts.functions.plan,
            payload=sfn.TaskInput.from_json_path_at("$"),
            catch=Catch(keep_the_refusal.next(report_refusal.next(refused)), "$"),
        )

    def _update_each_image(self, parts: WorkflowParts) -> sfn.Map:
        each_image = {
            "rootImageName.$": "$$.Map.Item.Value",
            "executionId.$": "$$.Execution.Id",
            "startedAt.$": "$$.Execution.StartTime",
            "dryRun.$": "$.dryRun",
        }
        return sfn.Map(
            self,
            states.UPDATE_EACH_IMAGE,
            items_path="$.images",
            max_concurrency=parts.config.max_concurrent_updates,
            item_selector=each_image,
            result_path="$.results",
        ).item_processor(UpdateOneImage(self, "UpdateOneImage", parts))

    def _summarize(self) -> sfn.Chain:
        """Two steps, because an intrinsic function's argument is best a plain path. The
        breaker also needs to know who started the run, and whether it was a dry run."""
        carried = {"results.$": "$.results", "dryRun.$": "$.dryRun", "startedBy.$": "$.startedBy"}
        list_failures = sfn.Pass(
            self,
            states.LIST_FAILURES,
            parameters={
                **carried,
                "failed.$": "$.results[*].failed",
                "outcomes.$": "$.results[*].outcome",
            },
        )
        summarize = sfn.Pass(
            self,
            states.SUMMARIZE,
            parameters={
                **carried,
                "anyFailed.$": "States.ArrayContains($.failed, true)",
                # "Could not check" is no failure, nor a success the breaker may reset on.
                "anyUnchecked.$": f"States.ArrayContains($.outcomes, '{CHECK_FAILED}')",
            },
        )
        return list_failures.next(summarize)

    def _end_as_decided(self, *, distributes: bool) -> sfn.Choice:
        """FAILED when an image, a roll-out or a distribution failed (each was e-mailed), so
        the alarm sees it."""
        decide = sfn.Choice(self, states.DID_EVERY_IMAGE_SUCCEED)
        failures: tuple[tuple[str, str, str, str], ...] = _FAILURES
        if distributes:
            failures += (
                (
                    "$.distributionSummary.anyFailed",
                    A_DISTRIBUTION_FAILED,
                    "DistributionFailed",
                    "A copy or a share of a new image failed; each was e-mailed.",
                ),
            )
        for flag, name, error, cause in failures:
            decide.when(
                sfn.Condition.boolean_equals(flag, True),
                sfn.Fail(self, name, error=error, cause=cause),
            )
        return decide.otherwise(sfn.Succeed(self, states.ALL_IMAGES_DONE))


class DistributionWorkflow(Construct):
    """ "Distribute one image": the state machine each new image's distribution runs in, as a
    child execution of the run (infra/workflow/distribute_each.py), with a history of its own."""

    def __init__(self, scope: Construct, construct_id: str, parts: WorkflowParts) -> None:
        super().__init__(scope, construct_id)
        self.state_machine = state_machine(
            self,
            parts.config,
            ImageDistribution(self, "Image", parts),
            comment="Copies one new AppStream image to other Regions and shares it",
            timeout=Duration.hours(IMAGE_DISTRIBUTION_HOURS),
            log_group_name=log_groups.VENDED_STATES_PREFIX
            + f"{Stack.of(scope).stack_name}-Distribution",
        )


def state_machine(
    scope: Construct,
    config: UpdaterConfig,
    definition: sfn.IChainable,
    *,
    comment: str,
    timeout: Duration,
    log_group_name: str | None = None,
) -> sfn.StateMachine:
    """A Standard state machine of `definition`, traced, logging every state to its own log
    group (named under /aws/vendedlogs/states/), execution data only if the admin asked."""
    log_group = log_groups.create(
        scope,
        "Logs",
        config.log_retention_days,
        name=log_group_name or log_groups.workflow_log_group_name(Stack.of(scope).stack_name),
    )
    return sfn.StateMachine(
        scope,
        "StateMachine",
        comment=comment,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group,
            level=sfn.LogLevel.ALL,
            include_execution_data=config.log_execution_data,
        ),
    )
