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
could not be checked is no failure (domain/could_not_check.py): Summarize passes it on as
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
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from image_updater.models import CHECK_FAILED
from infra.config import UpdaterConfig
from infra.constructs import log_groups
from infra.constructs.functions import UpdaterFunctions
from infra.workflow import states
from infra.workflow.breaker import RecordForTheBreaker
from infra.workflow.notify import ReportAndSend
from infra.workflow.rollout import RollOutOneImage, rollout_hours
from infra.workflow.tasks import invoke
from infra.workflow.update_image import UpdateOneImage

# Slack per batch of images for retries and the checks around the build itself.
_BATCH_SLACK_HOURS = 3


def execution_timeout(config: UpdaterConfig) -> Duration:
    """Images are processed `maxConcurrentUpdates` at a time; each batch may take up to
    `maxUpdateHours` plus retries. Reaching this timeout is itself alarmed and e-mailed."""
    batches = math.ceil(len(config.image_names) / config.max_concurrent_updates)
    updates = batches * (config.max_update_hours + _BATCH_SLACK_HOURS)
    # The roll-outs run side by side after the updates: the longest one is what they add.
    return Duration.hours(updates + rollout_hours(config))


class UpdateWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: UpdaterConfig,
        functions: UpdaterFunctions,
        topic: sns.ITopic,
        ledger: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)

        # The input goes to Plan as it is (any JSON value, up to the 256 KiB an execution
        # input may have): wrapping it could push a state over the limit.
        plan = invoke(
            self, states.PLAN, functions.plan, payload=sfn.TaskInput.from_json_path_at("$")
        )
        update_each_image = sfn.Map(
            self,
            states.UPDATE_EACH_IMAGE,
            items_path="$.images",
            max_concurrency=config.max_concurrent_updates,
            item_selector={
                "rootImageName.$": "$$.Map.Item.Value",
                "executionId.$": "$$.Execution.Id",
                "startedAt.$": "$$.Execution.StartTime",
                "dryRun.$": "$.dryRun",
            },
            result_path="$.results",
        )
        update_each_image.item_processor(
            UpdateOneImage(
                self,
                "UpdateOneImage",
                config=config,
                functions=functions,
                topic=topic,
                ledger=ledger,
            )
        )
        # The refusal keeps only the error (never the input), and ends FAILED whether or
        # not its e-mail could be sent.
        refused = sfn.Fail(
            self,
            states.RUN_REFUSED,
            error="RunRefused",
            cause="The run could not start; the reason was e-mailed.",
        )
        report_refusal = ReportAndSend(
            self, "NotifyRefusal", report=functions.report, topic=topic, for_refusal=True
        )
        plan.add_catch(
            sfn.Pass(self, states.KEEP_THE_REFUSAL, parameters={"error.$": "$"}).next(
                report_refusal.next(refused)
            ),
            result_path="$",
        )

        # Two steps, because an intrinsic function's argument is best a plain path. The
        # breaker also needs to know who started the run, and whether it was a dry run.
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
        breaker = RecordForTheBreaker(self, "Breaker", breaker=functions.breaker, topic=topic)
        # After the breaker: a roll-out waiting days for its approval neither holds an update
        # slot nor counts toward the breaker (a roll-out is not an update that failed).
        roll_out_each_image = sfn.Map(
            self,
            states.ROLL_OUT_EACH_IMAGE,
            items_path="$.results",
            item_selector={
                "rootImageName.$": "$$.Map.Item.Value.image",
                "result.$": "$$.Map.Item.Value",
                "executionId.$": "$$.Execution.Id",
            },
            result_path="$.rollouts",
        )
        roll_out_each_image.item_processor(
            RollOutOneImage(
                self, "RollOutOneImage", config=config, functions=functions, topic=topic
            )
        )
        # Two steps, as for the images: an intrinsic function's argument is a plain path.
        list_rollout_failures = sfn.Pass(
            self,
            states.LIST_ROLLOUT_FAILURES,
            parameters={"failed.$": "$.rollouts[*].failed"},
            result_path="$.rolloutFailures",
        )
        summarize_rollouts = sfn.Pass(
            self,
            states.SUMMARIZE_THE_ROLLOUTS,
            parameters={"anyFailed.$": "States.ArrayContains($.rolloutFailures.failed, true)"},
            result_path="$.rolloutSummary",
        )
        all_done = (
            sfn.Choice(self, states.DID_EVERY_IMAGE_SUCCEED)
            .when(
                sfn.Condition.boolean_equals("$.anyFailed", True),
                sfn.Fail(
                    self,
                    states.SOME_IMAGES_FAILED,
                    error="ImageUpdatesFailed",
                    cause="At least one image failed to update; each failure was e-mailed.",
                ),
            )
            .when(
                sfn.Condition.boolean_equals("$.rolloutSummary.anyFailed", True),
                sfn.Fail(
                    self,
                    states.A_ROLLOUT_FAILED,
                    error="RolloutFailed",
                    cause="A roll-out to fleets failed or was rolled back; each was e-mailed.",
                ),
            )
            .otherwise(sfn.Succeed(self, states.ALL_IMAGES_DONE))
        )
        definition = (
            plan.next(update_each_image)
            .next(list_failures)
            .next(summarize)
            .next(breaker)
            .next(roll_out_each_image)
            .next(list_rollout_failures)
            .next(summarize_rollouts)
            .next(all_done)
        )

        log_group = log_groups.create(
            self,
            "Logs",
            config.log_retention_days,
            name=log_groups.workflow_log_group_name(Stack.of(self).stack_name),
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="Keeps AppStream images updated with managed image updates",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=execution_timeout(config),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=config.log_execution_data,
            ),
        )
