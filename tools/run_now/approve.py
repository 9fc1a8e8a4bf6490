"""approve / reject: an approver's decision, sent to the updater's approval function.

approve / reject answer a roll-out waiting for approval (its e-mail gives the exact command).
The request goes to the function's URL (AWS_IAM auth), signed with SigV4 (service `lambda`)
with the approver's own credentials: AWS establishes who is asking, the URL's resource
policy admits only the principals named in `approvers`, and the function records that
identity with the decision. Nothing the command writes about its caller is trusted; it never
sees a task token.

The URL comes from the stack's ApprovalUrl output (cloudformation:DescribeStacks), or from
--url (for example an approver in another account, who cannot read the stack).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import IO, Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from image_updater.rollout.outcomes import APPROVED
from tools.run_now.aws import DEFAULT_STACK, stack_outputs
from tools.run_now.errors import ENVIRONMENT, NOTHING_TO_DO, OK, USAGE, ToolError

APPROVAL_URL_OUTPUT = "ApprovalUrl"
_TIMEOUT_SECONDS = 30
# Sends a signed request; returns the HTTP status and the response body.
Send = Callable[[AWSRequest], tuple[int, str]]


def approval_url(session: boto3.Session, stack: str) -> str:
    """The stack's ApprovalUrl output."""
    outputs = stack_outputs(session, stack)
    if APPROVAL_URL_OUTPUT not in outputs:
        raise ToolError(
            f"Stack {stack!r} has no {APPROVAL_URL_OUTPUT} output: it was deployed with "
            "requireApproval=false, or is not the image updater's stack (pass --stack).",
            ENVIRONMENT,
        )
    return str(outputs[APPROVAL_URL_OUTPUT])


def signed_request(session: boto3.Session, url: str, body: dict[str, Any]) -> AWSRequest:
    """A POST of `body` to `url`, signed (SigV4, service lambda) with the session's own
    credentials, in the URL's Region."""
    credentials = session.get_credentials()
    if credentials is None:
        raise ToolError("No AWS credentials: sign in (aws sso login) first.", ENVIRONMENT)
    region = _region_of(url) or session.region_name
    request = AWSRequest(
        method="POST",
        url=url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    SigV4Auth(credentials.get_frozen_credentials(), "lambda", region).add_auth(request)
    return request


def send(request: AWSRequest) -> tuple[int, str]:
    """The signed request over HTTPS; the status and body whatever the status."""
    prepared = request.prepare()
    body = prepared.body
    http = urllib.request.Request(
        prepared.url,
        data=body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else None,
        headers=dict(prepared.headers),
        method="POST",
    )
    try:
        with urllib.request.urlopen(http, timeout=_TIMEOUT_SECONDS) as response:
            return int(response.status), response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError) as error:
        raise ToolError(f"Could not reach the approval function: {error}", ENVIRONMENT) from error


def answer(
    session: boto3.Session,
    execution_arn: str,
    decision: str,
    out: IO[str],
    *,
    image: str | None = None,
    reason: str | None = None,
    stack: str = DEFAULT_STACK,
    url: str | None = None,
    transport: Send | None = None,
) -> int:
    """Approve (or reject) the roll-out of `image` waiting in the run `execution_arn`."""
    if not image:
        raise ToolError("Name the roll-out's image with --image (it is in the e-mail).", USAGE)
    target = url or approval_url(session, stack)
    body = {"executionArn": execution_arn, "image": image, "decision": decision}
    if reason:
        body["reason"] = reason
    status, text = (transport or send)(signed_request(session, target, body))
    reply = _json(text)
    if status == 200:
        verb = "Approved" if decision == APPROVED else "Rejected"
        out.write(
            f"{verb} the roll-out of {reply.get('newImageName')} ({image}) as "
            f"{reply.get('by')} (the identity AWS verified).\n"
            + (
                "Production fleets get it in their window; an e-mail follows.\n"
                if decision == APPROVED
                else "Production fleets stay as they are; an e-mail follows.\n"
            )
            + (
                ""
                if reply.get("delivered", True)
                else "(Recorded; the roll-out was not waiting at this moment: it takes the "
                "decision when it next waits, or says in an e-mail that its time was up.)\n"
            )
        )
        return OK
    why = str(reply.get("error") or reply.get("Message") or reply.get("message") or text)[:500]
    if status in (404, 409):
        raise ToolError(f"Nothing to answer: {why}", NOTHING_TO_DO)
    if status == 400:
        raise ToolError(f"The approval function refused the request: {why}", USAGE)
    if status == 403:
        raise ToolError(
            f"Not allowed: {why} (only the principals named in the stack's `approvers` may "
            "answer, through the approval function's URL).",
            ENVIRONMENT,
        )
    raise ToolError(f"The approval function answered HTTP {status}: {why}", ENVIRONMENT)


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _region_of(url: str) -> str | None:
    """A function URL's Region: https://<id>.lambda-url.<region>.on.aws/"""
    host = url.split("//", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 4 and parts[1] == "lambda-url":
        return parts[2]
    return None
