"""Who may answer a roll-out's approval, and what an answer may say: pure checks, no AWS.

The caller's identity comes from the function URL's request context (AWS_IAM auth: AWS
verified the SigV4 signature), never from the request body. An approver named as an IAM
role matches any session of that role (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`:
the session ARN drops the role's path); one named as an IAM user matches only that user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from image_updater.rollout.outcomes import APPROVED, REJECTED

DECISIONS = (APPROVED, REJECTED)
REASON_MAX = 500
# IAM names: letters, digits and +=,.@_- ; a path is /segments/ (IAM's own patterns).
_NAME = r"[\w+=,.@-]{1,128}"
APPROVER_PATTERN = re.compile(
    rf"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{{12}}):"
    rf"(?P<kind>role|user)/(?P<path>(?:[\x21-\x7e]*/)?)(?P<name>{_NAME})$"
)
_SESSION = re.compile(
    rf"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{{12}}):"
    rf"assumed-role/(?P<name>{_NAME})/(?P<session>[\w+=,.@-]{{2,64}})$"
)
_EXECUTION = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"execution:[\w-]{1,80}:[\w-]{1,80}$"
)
_IMAGE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$")


class AnswerRefused(Exception):
    """The request cannot be taken: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def matching_approver(caller_arn: str, approvers: tuple[str, ...]) -> str | None:
    """The configured approver `caller_arn` is (or is a session of), else None."""
    session = _SESSION.match(caller_arn)
    for approver in approvers:
        named = APPROVER_PATTERN.match(approver)
        if named is None:
            continue
        if named["kind"] == "user" and caller_arn == approver:
            return approver
        if (
            named["kind"] == "role"
            and session is not None
            and (session["partition"], session["account"], session["name"])
            == (named["partition"], named["account"], named["name"])
        ):
            return approver
    return None


def caller_of(event: Any) -> str:
    """The caller's ARN as AWS verified it (requestContext.authorizer.iam.userArn)."""
    try:
        arn = event["requestContext"]["authorizer"]["iam"]["userArn"]
    except (KeyError, TypeError):
        arn = None
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise AnswerRefused(403, "no IAM identity in the request (the URL's auth is AWS_IAM)")
    return arn


@dataclass(frozen=True)
class Answer:
    execution_arn: str
    image: str
    decision: str
    reason: str | None


def parse_answer(body: Any, *, partition: str, region: str, account: str) -> Answer:
    """The request body, checked: an execution of this account and Region, an image name,
    APPROVED or REJECTED, and a reason of at most REASON_MAX characters."""
    if not isinstance(body, dict):
        raise AnswerRefused(400, "the body must be a JSON object")
    execution = body.get("executionArn")
    found = _EXECUTION.match(execution) if isinstance(execution, str) else None
    if found is None or (found["partition"], found["region"], found["account"]) != (
        partition,
        region,
        account,
    ):
        raise AnswerRefused(400, f"executionArn must be an execution in {account}/{region}")
    image = body.get("image")
    if not isinstance(image, str) or not _IMAGE.match(image):
        raise AnswerRefused(400, "image must be the lineage's root image name")
    decision = body.get("decision")
    if decision not in DECISIONS:
        raise AnswerRefused(400, f"decision must be one of {', '.join(DECISIONS)}")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > REASON_MAX):
        raise AnswerRefused(400, f"reason must be text of at most {REASON_MAX} characters")
    return Answer(str(execution), image, str(decision), reason or None)
