"""The workflow's task shapes, in one place: a Lambda step with its retries and catch, and the
retry rules the steps share (Lambda's service errors; AppStream's transient errors and quotas)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

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


@dataclass(frozen=True)
class Retry:
    """One Retry rule of a task: the errors it matches, the first wait, how many attempts,
    how much longer each wait gets, and whether the waits are spread at random (jitter)."""

    errors: tuple[str, ...]
    interval: Duration
    max_attempts: int
    backoff_rate: float | None = None
    jitter: bool = False


# What the Lambda service (not the function) failed with: CDK's default set, with a backoff
# statelint accepts (it wants a non-integral BackoffRate; CDK's default is 2).
LAMBDA_SERVICE_RETRY = Retry(LAMBDA_SERVICE_ERRORS, Duration.seconds(2), 6, 1.5, jitter=True)
# Throttling, network errors and busy answers, for about ten minutes.
TRANSIENT_RETRY = Retry(TRANSIENT_ERRORS, Duration.seconds(30), 6, 1.5, jitter=True)
# AppStream's quotas free up only when other updates finish: wait much longer.
QUOTA_RETRY = Retry(QUOTA_ERRORS, Duration.minutes(10), 4, 1.5)
# A step that calls AppStream: transient errors retried for minutes, quotas for over an hour.
APPSTREAM_RETRIES = (TRANSIENT_RETRY, QUOTA_RETRY)


@dataclass(frozen=True)
class Catch:
    """Where a step's errors go once its retries are spent (all of them: a step never fails
    the run), and where in the state the error is kept for the next steps to read."""

    handler: sfn.IChainable
    error_path: str = "$.error"


Task = TypeVar("Task", bound=sfn.TaskStateBase)


def guard(
    step: Task,
    *,
    retries: Sequence[Retry] = (),
    catch: Catch | None = None,
) -> Task:
    """`step` with `retries` (tried in order), then `catch`, when given."""
    for rule in retries:
        step.add_retry(
            errors=list(rule.errors),
            interval=rule.interval,
            max_attempts=rule.max_attempts,
            backoff_rate=rule.backoff_rate,
            jitter_strategy=sfn.JitterType.FULL if rule.jitter else None,
        )
    if catch is not None:
        step.add_catch(catch.handler, errors=[sfn.Errors.ALL], result_path=catch.error_path)
    return step


def invoke(
    scope: Construct,
    name: str,
    function: lambda_.IFunction,
    *,
    payload: sfn.TaskInput | None = None,
    result_selector: dict[str, str] | None = None,
    result_path: str | None = None,
    retries: Sequence[Retry] = (),
    catch: Catch | None = None,
) -> tasks.LambdaInvoke:
    """A Lambda step whose output is the function's result: Lambda service errors retried,
    then `retries`, then `catch` (see `guard`)."""
    step = tasks.LambdaInvoke(
        scope,
        name,
        lambda_function=function,
        payload=payload,
        result_selector=result_selector,
        result_path=result_path,
        output_path=None if result_selector else "$.Payload",
        # Replaced by LAMBDA_SERVICE_RETRY, whose backoff statelint accepts.
        retry_on_service_exceptions=False,
    )
    return guard(step, retries=(LAMBDA_SERVICE_RETRY, *retries), catch=catch)


def task_input(task: object = sfn.JsonPath.entire_payload, **fields: object) -> sfn.TaskInput:
    """A handler's input: `task` (by default the whole state) and the `fields` given a value."""
    return sfn.TaskInput.from_object(
        {"task": task, **{key: value for key, value in fields.items() if value is not None}}
    )
