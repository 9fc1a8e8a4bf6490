"""The approval function's URL, offline: what AWS does in front of the function (SigV4
checked, the resource policy applied, the caller's identity put in the request context),
then the real handler in-process. The approve/reject commands send to it as to AWS."""

from __future__ import annotations

import base64
import json
from typing import Any

from botocore.awsrequest import AWSRequest

from rehearsal.runner import ACCOUNT, REGION

APPROVERS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ImageApprovers"
# A session of that role, as AWS names the caller of a request signed with its credentials.
APPROVER = f"arn:aws:sts::{ACCOUNT}:assumed-role/ImageApprovers/alice"
STRANGER = f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUsers/mallory"
URL = f"https://approvalfunction.lambda-url.{REGION}.on.aws/"


class _Context:
    function_name = "ApprovalUrl"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ApprovalUrl"
    memory_limit_in_mb = 256
    aws_request_id = "approval-request"
    log_group_name = "/aws/lambda/ApprovalUrl"
    log_stream_name = "rehearsal"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def function_url_event(caller_arn: str, body: Any) -> dict[str, Any]:
    """A function URL request (payload format 2.0) from `caller_arn`, with AWS_IAM auth."""
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    encoded = base64.b64encode(raw if isinstance(raw, bytes) else raw.encode()).decode()
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": ACCOUNT,
            "authorizer": {
                "iam": {
                    "accessKey": "ASIAEXAMPLE",
                    "accountId": ACCOUNT,
                    "callerId": "AROAEXAMPLE:session",
                    "userArn": caller_arn,
                    "userId": "AROAEXAMPLE:session",
                }
            },
            "http": {"method": "POST", "path": "/"},
        },
        "body": encoded,
        "isBase64Encoded": True,
    }


def call_approval_function(caller_arn: str, body: Any) -> tuple[int, dict[str, Any]]:
    """The real approval handler, as its URL invokes it for `caller_arn`."""
    from image_updater.handlers.approval_url import handler

    reply = handler(function_url_event(caller_arn, body), _Context())
    return int(reply["statusCode"]), json.loads(reply["body"])


class LocalFunctionUrl:
    """A transport for the approve/reject commands: the request must be SigV4-signed for
    `lambda`; `caller_arn` is who AWS would find signed it; `allowed` is the URL's resource
    policy (roles match their sessions), which refuses with 403 before the function runs."""

    def __init__(self, caller_arn: str = APPROVER, allowed: tuple[str, ...] = (APPROVERS_ROLE,)):
        self.caller_arn = caller_arn
        self.allowed = allowed
        self.requests: list[AWSRequest] = []

    def __call__(self, request: AWSRequest) -> tuple[int, str]:
        self.requests.append(request)
        authorization = str(request.headers.get("Authorization", ""))
        if not authorization.startswith("AWS4-HMAC-SHA256 ") or "/lambda/aws4_request" not in (
            authorization
        ):
            return 403, json.dumps({"Message": "Forbidden"})
        from image_updater.approval.identity import matching_approver

        if matching_approver(self.caller_arn, self.allowed) is None:
            return 403, json.dumps({"Message": "Forbidden"})
        status, body = call_approval_function(self.caller_arn, json.loads(request.body or b"{}"))
        return status, json.dumps(body)
