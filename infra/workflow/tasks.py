"""Factories for the workflow's repeated task shapes: a Lambda step, and a Lambda step that
talks to AppStream (retries for transient errors and quotas, every other error caught)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.errors import QUOTA_ERRORS, TRANSIENT_ERRORS

# The errors CDK's LambdaInvoke retries by default: the Lambda service, not the function.
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)


def invoke(
    scope: Construct,
    name: str,
    function: lambda_.IFunction,
    *,
    payload: sfn.TaskInput | None = None,
    result_selector: dict[str, str] | None = None,
    result_path: str | None = None,
) -> tasks.LambdaInvoke:
    """A Lambda step whose output is the function's result; Lambda service errors retried."""
    step = tasks.LambdaInvoke(
        scope,
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
    return retry_lambda_service_errors(step)


def retry_lambda_service_errors(step: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
    """Retries what the Lambda service (not the function) failed with: CDK's default set,
    with a backoff statelint accepts (for tasks built with retry_on_service_exceptions=False)."""
    step.add_retry(
        errors=list(LAMBDA_SERVICE_ERRORS),
        interval=Duration.seconds(2),
        max_attempts=6,
        backoff_rate=1.5,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return step


def retry_transient_errors(step: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
    """Retries throttling, network errors and busy answers for about ten minutes."""
    step.add_retry(
        errors=list(TRANSIENT_ERRORS),
        interval=Duration.seconds(30),
        max_attempts=6,
        backoff_rate=1.5,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return step


def appstream_step(
    scope: Construct, name: str, function: lambda_.IFunction, on_error: sfn.IChainable
) -> tasks.LambdaInvoke:
    """A step that calls AppStream: transient errors retried for minutes, quotas for over an
    hour, anything else caught into `on_error` with the error at `$.error`."""
    step = retry_transient_errors(invoke(scope, name, function))
    # AppStream's quotas free up only when other updates finish: wait much longer.
    step.add_retry(
        errors=list(QUOTA_ERRORS),
        interval=Duration.minutes(10),
        max_attempts=4,
        backoff_rate=1.5,
    )
    step.add_catch(on_error, errors=[sfn.Errors.ALL], result_path="$.error")
    return step


def with_execution(key: str) -> sfn.TaskInput:
    """The state as `key`, plus the execution's ARN (for console links)."""
    return sfn.TaskInput.from_object(
        {key: sfn.JsonPath.entire_payload, "executionArn": sfn.JsonPath.execution_id}
    )
