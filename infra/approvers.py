"""The `approvers` key: who may answer a roll-out's approval (IAM role or user ARNs), and the
settings it must agree with. Checked at synth, like every key (infra/config/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from image_updater.approval.identity import APPROVER_PATTERN

if TYPE_CHECKING:
    from infra.config import UpdaterConfig

# Each approver adds two statements (about 700 characters) to the approval function's
# resource policy (Lambda allows 20 KB), and its ARN to the function's environment (all
# variables together at most 4 KB, so the list is capped in characters too).
APPROVERS_MAX = 10
APPROVERS_CHARACTERS_MAX = 2000


def approvers_problems(approvers: tuple[str, ...]) -> Iterator[str]:
    for arn in approvers:
        if not APPROVER_PATTERN.match(arn):
            yield (
                f"{arn!r} is not an IAM role or user ARN "
                "(arn:<partition>:iam::<12-digit account>:role/<name> or .../user/<name>)"
            )
    if len(approvers) > APPROVERS_MAX:
        yield f"{len(approvers)} approvers; at most {APPROVERS_MAX} (name a role they share)"
    size = len(json.dumps(list(approvers)))
    if size > APPROVERS_CHARACTERS_MAX:
        yield (
            f"{size} characters as JSON; at most {APPROVERS_CHARACTERS_MAX} (the approval "
            "function's environment holds them, and Lambda allows 4 KB for all its variables)"
        )
    seen: set[str] = set()
    for arn in approvers:
        if arn in seen:
            yield f"{arn!r} is listed twice"
        seen.add(arn)
    partitions = {arn.split(":")[1] for arn in approvers if APPROVER_PATTERN.match(arn)}
    if len(partitions) > 1:
        yield f"approvers from several partitions ({', '.join(sorted(partitions))}): one only"


def approval_problems(config: UpdaterConfig) -> Iterator[str]:
    """Settings that together would break the approval's promise."""
    if config.require_approval and config.log_execution_data:
        yield (
            "logExecutionData, requireApproval: with execution data logged, the approval "
            "task's token is written to the workflow's log group (it is part of the task's "
            "logged parameters), where anyone who can read the logs could answer with it. "
            "Set logExecutionData=false, or requireApproval=false."
        )


def approval_warnings(config: UpdaterConfig) -> dict[str, str]:
    if config.require_approval and not config.approvers:
        return {
            "AppStreamImageUpdater:noApprovers": (
                "requireApproval is true and approvers is empty: nobody can approve a "
                "roll-out, so production fleets are never changed (each approval times out "
                "after approvalTimeoutHours). Name the IAM roles or users who may approve: "
                "-c approvers=arn:aws:iam::111122223333:role/AppStreamAdmins"
            )
        }
    return {}
