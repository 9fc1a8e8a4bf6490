"""The Step Functions workflow. Reads top to bottom like the shape in ARCHITECTURE.md:

    Plan -> Map over images ( Check -> [Create] -> Wait -> Poll -> ... -> Report -> Send )
         -> Summarize -> Succeed | Fail

Every error inside an image's branch is caught into that image's failure e-mail, so one
image never stops the others; the execution still ends FAILED when any image failed, so
the alarm sees it. A dry run sends no e-mail: its errors become part of its results.

No state holds more than the execution input itself (256 KiB at most): the input goes to
Plan unwrapped, and what the Lambdas return is capped (see `errors.shortened`), because
`States.DataLimitExceeded` cannot be caught and would end a run without an e-mail.
"""

from __future__ import annotations

import math

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.errors import (
    LAMBDA_TIMEOUT_ERRORS,
    QUOTA_ERRORS,
    TRANSIENT_ERRORS,
    LineageBusy,
)
from image_updater.models import FOLLOW, LATE_REPORT, NO_UPDATE, REPORTED_ELSEWHERE
from infra.config import UpdaterConfig
from infra.constructs import log_groups
from infra.constructs.functions import UpdaterFunctions

# The errors CDK's LambdaInvoke retries by default: the Lambda service, not the function.
_LAMBDA_SERVICE_ERRORS = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)

# Slack per batch of images for retries and the checks around the build itself.
_BATCH_SLACK_HOURS = 3


def execution_timeout(config: UpdaterConfig) -> Duration:
    """Images are processed `maxConcurrentUpdates` at a time; each batch may take up to
    `maxUpdateHours` plus retries. Reaching this timeout is itself alarmed and e-mailed."""
    batches = math.ceil(len(config.image_names) / config.max_concurrent_updates)
    return Duration.hours(batches * (config.max_update_hours + _BATCH_SLACK_HOURS))


class UpdateWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: UpdaterConfig,
        functions: UpdaterFunctions,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = topic
        self._functions = functions

        # The input goes to Plan as it is (any JSON value, up to the 256 KiB an execution
        # input may have): wrapping it could push a state over the limit.
        plan = self._invoke(
            "Plan the run", functions.plan, payload=sfn.TaskInput.from_json_path_at("$")
        )
        update_each_image = sfn.Map(
            self,
            "Update each image",
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
        update_each_image.item_processor(self._image_branch(config))
        # The refusal keeps only the error (never the input), and ends FAILED whether or
        # not its e-mail could be sent.
        refused = sfn.Fail(
            self,
            "Run refused",
            error="RunRefused",
            cause="The run could not start; the reason was e-mailed.",
        )
        plan.add_catch(
            sfn.Pass(self, "Keep the refusal", parameters={"error.$": "$"}).next(
                self._report_and_send("run refused", then=refused)
            ),
            result_path="$",
        )

        # Two steps, because an intrinsic function's argument is best a plain path.
        list_failures = sfn.Pass(
            self,
            "List failures",
            parameters={"results.$": "$.results", "failed.$": "$.results[*].failed"},
        )
        summarize = sfn.Pass(
            self,
            "Summarize",
            parameters={
                "results.$": "$.results",
                "anyFailed.$": "States.ArrayContains($.failed, true)",
            },
        )
        all_done = (
            sfn.Choice(self, "Did every image succeed?")
            .when(
                sfn.Condition.boolean_equals("$.anyFailed", True),
                sfn.Fail(
                    self,
                    "Some images failed",
                    error="ImageUpdatesFailed",
                    cause="At least one image failed to update; each failure was e-mailed.",
                ),
            )
            .otherwise(sfn.Succeed(self, "All images done"))
        )
        definition = plan.next(update_each_image).next(list_failures).next(summarize).next(all_done)

        log_group = log_groups.create(self, "Logs", config.log_retention_days)
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

    # --- one image -------------------------------------------------------------------

    def _image_branch(self, config: UpdaterConfig) -> sfn.IChainable:
        report = self._report_and_send("image")
        on_error = (
            sfn.Choice(self, "Dry run?")
            .when(
                sfn.Condition.boolean_equals("$.dryRun", True),
                sfn.Pass(
                    self,
                    "Dry run: keep the error",
                    parameters={
                        "image.$": "$.rootImageName",
                        "outcome": "DRY_RUN",
                        "error.$": "$.error",
                        "failed": False,
                    },
                ),
            )
            .otherwise(report)
        )
        check = self._appstream_step("Check for updates", self._functions.check, on_error)
        create = self._appstream_step("Start the update", self._functions.create, on_error)
        # Create looks at the lineage again before it starts anything; a retry after a Lambda
        # timeout therefore follows an update the timed-out attempt did start.
        # Waits of 1, 2.5 and 6.25 minutes: longer together than a lock is ever held.
        create.add_retry(
            errors=[LineageBusy.__name__],
            interval=Duration.minutes(1),
            max_attempts=3,
            backoff_rate=2.5,
        )
        create.add_retry(
            errors=list(LAMBDA_TIMEOUT_ERRORS), interval=Duration.seconds(30), max_attempts=2
        )
        poll = self._appstream_step("Check the build", self._functions.poll, on_error)
        wait = sfn.Wait(
            self,
            "Wait for the build",
            time=sfn.WaitTime.duration(Duration.minutes(config.poll_interval_minutes)),
        )
        no_update: sfn.IChainable = (
            report
            if config.notify_no_update
            else sfn.Pass(
                self,
                "Already up to date",
                parameters={"image.$": "$.rootImageName", "outcome": NO_UPDATE, "failed": False},
            )
        )
        decide = (
            sfn.Choice(self, "Update available?")
            .when(
                sfn.Condition.boolean_equals("$.dryRun", True),
                sfn.Pass(
                    self,
                    "Dry run: report only",
                    parameters={
                        "image.$": "$.rootImageName",
                        "outcome": "DRY_RUN",
                        "action.$": "$.action",
                        "newImageName.$": "$.newImageName",
                        "failed": False,
                    },
                ),
            )
            .when(sfn.Condition.string_equals("$.action", LATE_REPORT), report)
            .when(sfn.Condition.string_equals("$.action", NO_UPDATE), no_update)
            .when(sfn.Condition.string_equals("$.action", FOLLOW), wait)
            .otherwise(create)
        )
        started = (
            sfn.Choice(self, "Started, or done by another run?")
            .when(sfn.Condition.string_equals("$.action", NO_UPDATE), no_update)
            .otherwise(wait)
        )
        settled = (
            sfn.Choice(self, "Image settled?")
            .when(sfn.Condition.is_null("$.outcome"), wait)
            .when(
                sfn.Condition.string_equals("$.outcome", REPORTED_ELSEWHERE),
                sfn.Pass(
                    self,
                    "Reported by another run",
                    parameters={
                        "image.$": "$.rootImageName",
                        "outcome": REPORTED_ELSEWHERE,
                        "newImageName.$": "$.newImageName",
                        "failed": False,
                    },
                ),
            )
            .otherwise(report)
        )
        create.next(started)
        wait.next(poll)
        poll.next(settled)
        return check.next(decide)

    def _appstream_step(
        self, name: str, function: lambda_.IFunction, on_error: sfn.IChainable
    ) -> tasks.LambdaInvoke:
        step = self._invoke(name, function)
        step.add_retry(
            errors=list(TRANSIENT_ERRORS),
            interval=Duration.seconds(30),
            max_attempts=6,
            backoff_rate=1.5,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # AppStream's quotas free up only when other updates finish: wait much longer.
        step.add_retry(
            errors=list(QUOTA_ERRORS),
            interval=Duration.minutes(10),
            max_attempts=4,
            backoff_rate=1.5,
        )
        step.add_catch(on_error, errors=[sfn.Errors.ALL], result_path="$.error")
        return step

    # --- e-mail ----------------------------------------------------------------------

    def _report_and_send(self, kind: str, then: sfn.IChainable | None = None) -> sfn.Chain:
        """Write the e-mail (Lambda), send it (SNS), and return the image's result. If the
        report cannot be written, a plain fallback e-mail still goes out. Every ending,
        sent or not, continues with `then` (if given)."""
        label = "" if kind == "image" else f" ({kind})"
        report = self._invoke(
            f"Write the e-mail{label}",
            self._functions.report,
            payload=_with_execution("task"),
            result_selector={
                field + ".$": f"$.Payload.{field}"
                for field in ("subject", "body", "outcome", "image", "failed", "newImageName")
            },
            result_path="$.notification",
        )
        send = tasks.SnsPublish(
            self,
            f"Send the e-mail{label}",
            topic=self._topic,
            subject=sfn.JsonPath.string_at("$.notification.subject"),
            message=sfn.TaskInput.from_json_path_at("$.notification.body"),
            message_attributes={
                "outcome": tasks.MessageAttribute(
                    value=sfn.JsonPath.string_at("$.notification.outcome")
                ),
                "image": tasks.MessageAttribute(
                    value=sfn.JsonPath.string_at("$.notification.image")
                ),
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        send.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(5), max_attempts=3)
        failed_result = {"image.$": "$.rootImageName", "outcome": "FAILED", "failed": True}
        if kind != "image":
            failed_result = {"image": "-", "outcome": "FAILED", "failed": True}
        not_sent = sfn.Pass(self, f"E-mail not sent{label}", parameters=failed_result)
        send.add_catch(not_sent, result_path="$.sendError")
        fallback = tasks.SnsPublish(
            self,
            f"Send the fallback e-mail{label}",
            topic=self._topic,
            subject=f"AppStream image updater: a run needs attention{label}",
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "A run of the AppStream image updater failed and its report could not be "
                    "written ({}). Open the run in the Step Functions console: {}",
                    sfn.JsonPath.string_at("$.reportError.Error"),
                    sfn.JsonPath.execution_id,
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        fallback.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(5), max_attempts=3)
        report_failed = sfn.Pass(self, f"Report failed{label}", parameters=failed_result)
        report.add_catch(fallback.next(report_failed), result_path="$.reportError")
        result = sfn.Pass(
            self,
            f"Result{label}",
            parameters={
                field + ".$": f"$.notification.{field}"
                for field in ("image", "outcome", "failed", "newImageName")
            },
        )
        if then is not None:
            for ending in (not_sent, report_failed, result):
                ending.next(then)
        return report.next(send).next(result)

    def _invoke(
        self,
        name: str,
        function: lambda_.IFunction,
        *,
        payload: sfn.TaskInput | None = None,
        result_selector: dict[str, str] | None = None,
        result_path: str | None = None,
    ) -> tasks.LambdaInvoke:
        step = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=function,
            payload=payload,
            result_selector=result_selector,
            result_path=result_path,
            output_path=None if result_selector else "$.Payload",
            # Replaced by the retry below, whose backoff statelint accepts (it wants a
            # non-integral BackoffRate; CDK's default is 2).
            retry_on_service_exceptions=False,
        )
        step.add_retry(
            errors=list(_LAMBDA_SERVICE_ERRORS),
            interval=Duration.seconds(2),
            max_attempts=6,
            backoff_rate=1.5,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return step


def _with_execution(key: str) -> sfn.TaskInput:
    return sfn.TaskInput.from_object(
        {key: sfn.JsonPath.entire_payload, "executionArn": sfn.JsonPath.execution_id}
    )
