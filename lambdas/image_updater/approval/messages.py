"""The e-mail for an answer the workflow ignored: one that did not come through the approval
function (a bare SendTaskSuccess with a leaked task token)."""

from __future__ import annotations

from image_updater.domain.messages import MessageContext, _when
from image_updater.rollout.models import Rollout
from image_updater.settings import RolloutSettings

APPROVAL_IGNORED = "APPROVAL_IGNORED"


def ignored(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> tuple[str, str]:
    approval = rollout.approval or {}
    body = (
        f"The roll-out of {rollout.new_image_name} ({rollout.root_image_name}) received an "
        f"answer at {_when(approval.get('ignoredAt'))} that did not come through the "
        "approval function: someone called states:SendTaskSuccess (or SendTaskFailure) with "
        "the wait's task token directly. It was IGNORED: production fleets were not touched, "
        "and whatever the answer claimed (decision, who, why) was discarded unread.\n\n"
        "Who sent it: AWS CloudTrail records the SendTaskSuccess call with the caller's "
        "identity (event source states.amazonaws.com). Treat it as an attempt to bypass the "
        "approval, and find out who holds states:SendTaskSuccess.\n\n"
        "The roll-out waits again for an approver's decision until "
        f"{_when(approval.get('deadline'))} (the original deadline). "
        "Approvers answer with the approve or reject command from the approval request e-mail;"
        " only the principals named in `approvers` can.\n\n"
        f"Ignored answers so far: {approval.get('ignored', 1)}.\n\n"
    )
    return body, f"IGNORED: an approval answer for {rollout.new_image_name} bypassed approval"
