"""Step Functions executions: whether one is still RUNNING (DescribeExecution), for the
distributions a stopped run left owed (distribution/resume.py)."""

from __future__ import annotations

from typing import Any

from image_updater.errors import ImageUpdaterError

# An ARN Step Functions never knew, or no longer keeps (an ended execution's record goes
# 90 days after it closed), or one of a state machine this stack no longer has (replaced: the
# function may describe only its stack's own machines' executions): it is no run of this
# stack's any more. A wrong answer here costs a distribution done twice (copies are found,
# shares set again, a second e-mail); the opposite mistake would leave it owed for ever.
_NOT_AN_EXECUTION = frozenset({"ExecutionDoesNotExist", "InvalidArn", "AccessDeniedException"})


class RunStatusUnknown(ImageUpdaterError):
    """DescribeExecution did not answer (throttled, unreachable, refused)."""


class Executions:
    """Created with the first question: a run that finds no distribution owed never builds
    the client."""

    def __init__(self, client: Any = None) -> None:
        self._given = client
        self._client: Any = None

    def running(self, arn: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            status = self._sfn().describe_execution(executionArn=arn)["status"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _NOT_AN_EXECUTION:
                return False
            raise RunStatusUnknown(f"{code}: {error}") from error
        except BotoCoreError as error:
            raise RunStatusUnknown(f"{type(error).__name__}: {error}") from error
        return bool(status == "RUNNING")

    def _sfn(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = self._given or boto3.client(
                "stepfunctions", config=Config(retries={"mode": "standard"})
            )
        return self._client
