"""The e-mail for an answer the workflow ignored: one that did not come through the approval
function (a bare SendTaskSuccess with a leaked task token)."""

from __future__ import annotations

from image_updater.domain.messages import MessageContext, when
from image_updater.rollout.models import Rollout
from image_updater.rollout.settings import RolloutSettings

APPROVAL_IGNORED = "APPROVAL_IGNORED"


def ignored(
    rollout: Rollout, ctx: MessageContext, settings: RolloutSettings
) -> tuple[str, list[str]]:
    """The subject, then the paragraphs (the roll-out's e-mails add its footer)."""
    approval = rollout.approval or {}
    return f"IGNORED: an approval answer for {rollout.new_image_name} bypassed approval", [
        f"The roll-out of {rollout.new_image_name} ({rollout.root_image_name}) received an "
        f"answer at {when(approval.get('ignoredAt'))} that did not come through the "
        "approval function: someone called states:SendTaskSuccess (or SendTaskFailure) with "
        "the wait's task token directly. It was IGNORED: production fleets were not touched, "
        "and whatever the answer claimed (decision, who, why) was discarded unread.",
        "Who sent it: AWS CloudTrail records the SendTaskSuccess call with the caller's "
        "identity (event source states.amazonaws.com). Treat it as an attempt to bypass the "
        "approval, and find out who holds states:SendTaskSuccess.",
        "The roll-out waits again for an approver's decision until "
        f"{when(approval.get('deadline'))} (the original deadline). "
        "Approvers answer with the approve or reject command from the approval request e-mail;"
        " only the principals named in `approvers` can.",
        f"Ignored answers so far: {approval.get('ignored', 1)}.",
    ]
