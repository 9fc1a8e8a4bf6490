"""The approval function, behind a Lambda function URL with AWS_IAM auth (the approve and
reject commands sign their request with the caller's own credentials, SigV4):

1. who: the caller AWS verified (requestContext.authorizer.iam.userArn), checked against
   `approvers` (APPROVERS) again here, though the URL's resource policy admits only them;
2. what: an execution of this account and Region, the lineage's root image, APPROVED or
   REJECTED, a reason of at most 500 characters;
3. the roll-out must be waiting (its ledger item, written by this updater's wait step);
4. the decision is recorded once, with that identity, then the task's token is answered.
   The token is read from the ledger and never leaves this function (nor its logs).
"""

from __future__ import annotations

import base64
import json
import os
import time
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from image_updater import clock
from image_updater.approval.identity import (
    AnswerRefused,
    caller_of,
    matching_approver,
    parse_answer,
)
from image_updater.approval.ledger import AlreadyDecided, ApprovalLedger
from image_updater.observability import instrumented, logger

_NO_LONGER_WAITING = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
# A wait that ended a moment ago (an ignored answer) starts again with a new token within
# seconds: look for it this many times, this long apart.
_TOKEN_LOOKS, _TOKEN_PAUSE_SECONDS = 3, 2.0
_pause = time.sleep


@cache
def _sfn() -> Any:
    return boto3.client("stepfunctions", config=Config(retries={"mode": "standard"}))


def approvers() -> tuple[str, ...]:
    return tuple(str(a) for a in json.loads(os.environ.get("APPROVERS") or "[]"))


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        return _reply(200, answer(event, str(context.invoked_function_arn)))
    except AnswerRefused as refused:
        logger.warning("Answer refused", extra={"status": refused.status, "why": str(refused)})
        return _reply(refused.status, {"error": str(refused)})


def answer(event: Any, function_arn: str) -> dict[str, Any]:
    caller = caller_of(event)
    if matching_approver(caller, approvers()) is None:
        raise AnswerRefused(403, f"{caller} is not one of the approvers (approvers)")
    _, partition, _, region, account, *_ = function_arn.split(":")
    request = parse_answer(_body(event), partition=partition, region=region, account=account)
    ledger = ApprovalLedger()
    record = ledger.get(request.execution_arn, request.image)
    if record is None:
        raise AnswerRefused(
            404, f"no roll-out of {request.image} in {request.execution_arn} waits for approval"
        )
    if record.decision is not None:
        raise AnswerRefused(409, f"answered already: {record.decision} by {record.by}")
    if clock.utc_now() >= record.deadline:
        # Recording it now would say "approved" for a roll-out that has ended (timed out).
        raise AnswerRefused(
            409,
            f"the approval of {record.new_image_name} timed out at "
            f"{record.deadline:%Y-%m-%d %H:%M} UTC; production was left as it was",
        )
    try:
        ledger.decide(
            record,
            decision=request.decision,
            by=caller,
            reason=request.reason,
            at=clock.utc_now(),
        )
    except AlreadyDecided as error:
        raise AnswerRefused(409, "answered already, a moment ago") from error
    logger.info(
        "Decision recorded",
        extra={"decision": request.decision, "by": caller, "image": request.image},
    )
    delivered = _deliver(ledger, record.token, request.execution_arn, request.image)
    return {
        "delivered": delivered,
        "decision": request.decision,
        "by": caller,
        "image": request.image,
        "newImageName": record.new_image_name,
    }


def _deliver(ledger: ApprovalLedger, token: str, execution_arn: str, image: str) -> bool:
    """Answer the waiting task (the content is not what counts: the verify step reads the
    ledger). False if no wait took it: the roll-out was between two waits (the next wait
    finds the decision and goes on at once: ApprovalAlreadyDecided), or its deadline passed."""
    for look in range(_TOKEN_LOOKS):
        try:
            _sfn().send_task_success(taskToken=token, output=json.dumps({"recorded": True}))
            return True
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in _NO_LONGER_WAITING:
                raise
            logger.info("Task no longer waiting", extra={"code": code, "look": look})
        _pause(_TOKEN_PAUSE_SECONDS)
        current = ledger.get(execution_arn, image)
        if current is not None:
            token = current.token
    return False


def _body(event: Any) -> Any:
    raw = event.get("body") if isinstance(event, dict) else None
    if not isinstance(raw, str):
        raise AnswerRefused(400, "a JSON body is required")
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise AnswerRefused(400, "the body is not JSON") from error


def _reply(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
