"""The Step Functions workflow. Reads top to bottom like the shape in ARCHITECTURE.md:

    Plan -> Map over images ( Check -> [Create] -> Wait -> Poll -> ... -> Report -> Send )
         -> Summarize -> Succeed | Fail

Every error inside an image's branch is caught into that image's failure e-mail, so one
image never stops the others; the execution still ends FAILED when any image failed, so
the alarm sees it.
"""

from __future__ import annotations

import math

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.errors import QUOTA_ERRORS, TRANSIENT_ERRORS
from image_updater.models import FOLLOW, NO_UPDATE
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

        # Wrapping the input first means a Catch can always attach the error to it, even
        # when a hand-started run's input is not a JSON object.
        read_input = sfn.Pass(self, "Read the input", parameters={"input.$": "$"})
        plan = self._invoke(
            "Plan the run",
            functions.plan,
            payload=sfn.TaskInput.from_object(
                {
                    "input": sfn.JsonPath.object_at("$.input"),
                    "executionArn": sfn.JsonPath.execution_id,
                }
            ),
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
        plan.add_catch(
            self._report_and_send("run refused").next(
                sfn.Fail(
                    self,
                    "Run refused",
                    error="RunRefused",
                    cause="The run could not start; the reason was e-mailed.",
                )
            ),
            result_path="$.error",
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
        definition = (
            read_input.next(plan)
            .next(update_each_image)
            .next(list_failures)
            .next(summarize)
            .next(all_done)
        )

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
        check = self._appstream_step("Check for updates", self._functions.check, report)
        create = self._appstream_step("Start the update", self._functions.create, report)
        poll = self._appstream_step("Check the build", self._functions.poll, report)
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
            .when(sfn.Condition.string_equals("$.action", NO_UPDATE), no_update)
            .when(sfn.Condition.string_equals("$.action", FOLLOW), wait)
            .otherwise(create)
        )
        settled = (
            sfn.Choice(self, "Image settled?")
            .when(sfn.Condition.is_null("$.outcome"), wait)
            .otherwise(report)
        )
        create.next(wait)
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

    def _report_and_send(self, kind: str) -> sfn.Chain:
        """Write the e-mail (Lambda), send it (SNS), and return the image's result. If the
        report cannot be written, a plain fallback e-mail still goes out."""
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
        send.add_catch(
            sfn.Pass(self, f"E-mail not sent{label}", parameters=failed_result),
            result_path="$.sendError",
        )
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
        report.add_catch(
            fallback.next(sfn.Pass(self, f"Report failed{label}", parameters=failed_result)),
            result_path="$.reportError",
        )
        result = sfn.Pass(
            self,
            f"Result{label}",
            parameters={
                field + ".$": f"$.notification.{field}"
                for field in ("image", "outcome", "failed", "newImageName")
            },
        )
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
