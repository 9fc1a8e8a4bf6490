"""The roll-out's e-mails: every change to a fleet is told, with what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from image_updater.approval.messages import APPROVAL_IGNORED, ignored
from image_updater.domain.messages import (
    MessageContext,
    _error_details,
    _subject,
    _table,
    _when,
)
from image_updater.models import Notification
from image_updater.rollout.models import (
    APPROVAL_REQUESTED,
    APPROVAL_TIMED_OUT,
    CANARIES_UPDATED,
    CANARY,
    CANARY_ROLLED_BACK,
    FOLLOWS_TAG,
    HELD_BACK,
    NOTHING_TO_ROLL_OUT,
    PRODUCTION,
    PRODUCTION_UPDATED,
    REJECTED,
    ROLLOUT_FAILED,
    ROLLOUT_FAILURES,
    STAGE_TAG,
    SUPERSEDED,
    FleetNote,
    Rollout,
)
from image_updater.settings import RolloutSettings

_PRODUCT = "AppStream image updater"
SESSIONS_NOTE = (
    'What happens to running sessions (AWS, "Update a fleet"): on a running Always-On or '
    "On-Demand fleet, active sessions go on undisturbed on the old image; unused instances are "
    "replaced with the new image, and instances in use are replaced once their sessions end. A "
    "stopped fleet starts on the new image. On multi-session fleets an instance changes only "
    "when all of its sessions have ended: drain instances (DrainSessionInstance) if they must "
    "change sooner."
)


def approve_command(ctx: MessageContext, root: str) -> str:
    return f'make run-now ARGS="approve {ctx.execution_arn} --image {root}"'


def reject_command(ctx: MessageContext, root: str) -> str:
    return f"make run-now ARGS=\"reject {ctx.execution_arn} --image {root} --reason '...'\""


def rollback_command(fleet: str) -> str:
    return f'make run-now ARGS="rollback --fleet {fleet}"'


def _fleets(notes: Sequence[FleetNote], *, label: str) -> str:
    if not notes:
        return ""
    lines = "\n".join(
        f"  - {n.fleet}" + (f" ({n.stage})" if n.stage else "") + (f": {n.note}" if n.note else "")
        for n in notes
    )
    return f"{label}:\n{lines}\n\n"


def _changed(notes: Sequence[FleetNote], image: str, *, label: str) -> str:
    if not notes:
        return ""
    lines = "\n".join(f"  - {n.fleet}: {n.note or 'no image'} -> {image}" for n in notes)
    return f"{label}:\n{lines}\n\n"


def _went_back(notes: Sequence[FleetNote], image: str) -> str:
    if not notes:
        return ""
    lines = "\n".join(f"  - {n.fleet}: {image} -> {n.note}" for n in notes)
    return f"Rolled back:\n{lines}\n\n"


def _window(settings: RolloutSettings) -> str:
    if settings.rollout_window == "immediately":
        return "immediately"
    return f"at the next start of {settings.rollout_window} ({settings.timezone})"


def _footer(ctx: MessageContext) -> str:
    return (
        f"This run in Step Functions: {ctx.execution_url()}\n\n"
        f"-- {_PRODUCT}. It changes only fleets tagged {FOLLOWS_TAG}=<image> and "
        f"{STAGE_TAG}=canary|production; remove a tag to opt a fleet out.\n"
    )


def compose(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> Notification:
    """The e-mail for a roll-out milestone (the roll-out's `outcome`)."""
    body, subject = _BODIES.get(rollout.outcome or ROLLOUT_FAILED, _failed)(rollout, ctx, settings)
    return Notification(
        subject=_subject(subject),
        body=body + _footer(ctx),
        outcome=rollout.outcome or ROLLOUT_FAILED,
        image=rollout.root_image_name,
        failed=(rollout.outcome or ROLLOUT_FAILED) in ROLLOUT_FAILURES,
        new_image_name=rollout.new_image_name,
    )


def _image_rows(rollout: Rollout) -> list[tuple[str, str | None]]:
    return [
        ("New image", rollout.new_image_name),
        ("Lineage", rollout.root_image_name),
        ("Platform", rollout.platform),
    ]


def _canaries_updated(
    rollout: Rollout, ctx: MessageContext, settings: RolloutSettings
) -> tuple[str, str]:
    soak_end = ctx.now + timedelta(hours=settings.canary_soak_hours)
    check = (
        f"Their health is checked at {_when(soak_end)}, after {settings.canary_soak_hours} h "
        if settings.canary_soak_hours
        else "Their health is checked now "
    )
    alarms = ", ".join(settings.canary_alarm_names) or "none configured"
    next_step = (
        "If they are healthy, you are asked to approve production."
        if settings.require_approval
        else f"If they are healthy, production fleets get the image {_window(settings)}."
    )
    body = (
        f"Canary fleets now run the new image {rollout.new_image_name}.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        + _changed(rollout.updated_in(CANARY), rollout.new_image_name, label="Canary fleets")
        + _fleets(rollout.not_updated, label="Not updated")
        + _fleets(rollout.passed_over, label="Fleets following the lineage but passed over")
        + f"{check}(fleet state, fleet errors, at least one instance running and running vs "
        f"desired capacity, a dip re-checked a few times minutes apart, alarms: {alarms}). "
        "An unhealthy canary is put back on its previous image automatically. "
        f"{next_step}\n\n"
        f"{SESSIONS_NOTE}\n\n"
    )
    return body, f"AppStream canary fleets updated: {rollout.new_image_name}"


def _approval_requested(
    rollout: Rollout, ctx: MessageContext, settings: RolloutSettings
) -> tuple[str, str]:
    deadline = ctx.now + timedelta(hours=settings.approval_timeout_hours)
    canaries = rollout.canaries if rollout.canaries_updated_at else ()
    if canaries:
        tested_since = rollout.canaries_updated_at
        tested = (
            f"Tested on canary fleets {', '.join(canaries)} since "
            f"{_when(tested_since)} ({_hours_since(tested_since, ctx.now)}). After the soak "
            "they were healthy: RUNNING, no fleet errors, at least one instance running and "
            "running capacity at the desired level"
            + (
                f", alarms OK: {', '.join(settings.canary_alarm_names)}"
                if settings.canary_alarm_names
                else " (no alarms configured: canaryAlarmNames)"
            )
            + ".\n\n"
        )
    else:
        tested = (
            "UNTESTED: no canary fleet is tagged for this lineage, so no canary ran this "
            "image and nothing has tested it on a fleet. If you approve, production gets it "
            f"untested. Tag a test fleet {STAGE_TAG}=canary to have the next image tried "
            "there first.\n\n"
        )
    production = ", ".join(rollout.production) or "none tagged yet"
    body = (
        f"Approval needed: roll {rollout.new_image_name} out to production fleets.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        f"{tested}"
        "Production fleets (only these may change; one untagged by then is left out, one "
        f"tagged after this e-mail waits for the next approved roll-out): {production}\n"
        f"They get the image {_window(settings)} after approval.\n\n"
        "To approve (with your own AWS credentials, as one of the principals named in "
        "`approvers`: the command calls the updater's approval function, which records who "
        "AWS says you are; nothing in this e-mail grants anything):\n"
        f"  {approve_command(ctx, rollout.root_image_name)}\n"
        "To reject:\n"
        f"  {reject_command(ctx, rollout.root_image_name)}\n\n"
        f"Without an answer by {_when(deadline)} ({settings.approval_timeout_hours} h, "
        "approvalTimeoutHours) the roll-out ends and production stays as it is.\n\n"
        f"{SESSIONS_NOTE}\n\n"
    )
    return body, f"Approval needed: AppStream image {rollout.new_image_name} to production"


def _hours_since(start: str | None, now: datetime) -> str:
    if not start:
        return "unknown"
    began = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return f"{max(0.0, (now - began).total_seconds() / 3600):.0f} h"


def _rolled_back(
    rollout: Rollout, ctx: MessageContext, settings: RolloutSettings
) -> tuple[str, str]:
    problems = "\n".join(f"  - {p}" for p in rollout.problems) or "  - a canary fleet refused"
    changed = [note.fleet for note in rollout.updated_in(CANARY)]
    back = {note.fleet for note in rollout.rolled_back}
    left = [fleet for fleet in changed if fleet not in back]
    # The subject says what happened to the canaries this roll-out changed, never more.
    if not changed:
        what, rolled = (
            "and none of them was changed by this roll-out (already on it), so none was put back",
            "",
        )
    elif not left:
        what, rolled = "so the updater put them back on their previous images", ", rolled back"
    elif back:
        what, rolled = (
            f"so the updater put {', '.join(sorted(back))} back on their previous images; "
            f"{', '.join(left)} could not be put back (below)",
            ", NOT all rolled back",
        )
    else:
        what, rolled = "but the updater could not put them back (below)", ", NOT rolled back"
    body = (
        f"The canary fleets were unhealthy with {rollout.new_image_name}, {what}. Production "
        "fleets were not touched.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        f"Why:\n{problems}\n\n"
        + _went_back(rollout.rolled_back, rollout.new_image_name)
        + _fleets(rollout.not_updated, label="Not changed or not rolled back (check these)")
        + "What to do: look at the canary fleets' errors and alarms in the console. The next "
        "image the updater builds is tried on the canaries again.\n\n"
    )
    return body, f"AppStream canary UNHEALTHY{rolled}: {rollout.new_image_name}"


def _canaries_left(rollout: Rollout) -> str:
    moved_on = {n.fleet for n in rollout.passed_over}
    canaries = [n for n in rollout.updated_in(CANARY) if n.fleet not in moved_on]
    if not canaries:
        return ""
    commands = "\n".join(f"  {rollback_command(n.fleet)}" for n in canaries)
    return (
        "The canary fleets keep the new image. To put them back on their previous image:\n"
        f"{commands}\n\n"
    )


def _rejected(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> tuple[str, str]:
    approval = rollout.approval or {}
    by = approval.get("by") or "unknown"
    reason = approval.get("reason") or "none given"
    body = (
        f"The roll-out of {rollout.new_image_name} to production was rejected. Production "
        "fleets were not touched.\n\n"
        f"{_table([*_image_rows(rollout), ('Rejected by', str(by)), ('Reason', str(reason))])}"
        "\n\n" + _canaries_left(rollout)
    )
    return body, f"AppStream roll-out rejected: {rollout.new_image_name}"


def _timed_out(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> tuple[str, str]:
    body = (
        f"Nobody approved the roll-out of {rollout.new_image_name} within "
        f"{settings.approval_timeout_hours} h (approvalTimeoutHours), so it ended. Production "
        "fleets were not touched.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        + _canaries_left(rollout)
        + "The next image the updater builds starts a new roll-out, with a new approval.\n\n"
    )
    return body, f"AppStream roll-out approval timed out: {rollout.new_image_name}"


def _production_updated(
    rollout: Rollout, ctx: MessageContext, settings: RolloutSettings
) -> tuple[str, str]:
    production = rollout.updated_in(PRODUCTION)
    approval = rollout.approval or {}
    approved = f"Approved by {approval.get('by')}.\n\n" if approval.get("by") else ""
    commands = "\n".join(f"  {rollback_command(n.fleet)}" for n in production)
    body = (
        f"Production fleets now run {rollout.new_image_name}.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        f"{approved}"
        + (
            _changed(production, rollout.new_image_name, label="Production fleets")
            if production
            else "No production fleet was changed (none tagged, or none could take it).\n\n"
        )
        + _fleets(
            [n for n in rollout.not_updated if n.stage == PRODUCTION],
            label="Not updated (AppStream refused; check these)",
        )
        + _fleets(rollout.passed_over, label="Fleets following the lineage but passed over")
        + f"{SESSIONS_NOTE}\n\n"
        + (f"To put a fleet back on its previous image:\n{commands}\n\n" if commands else "")
    )
    return body, f"AppStream production fleets updated: {rollout.new_image_name}"


def _nothing(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> tuple[str, str]:
    body = (
        f"Fleets follow the lineage of {rollout.root_image_name}, but none of them can take "
        f"{rollout.new_image_name}; nothing was changed.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        + _fleets(rollout.passed_over, label="Fleets passed over")
    )
    return body, f"AppStream roll-out: no fleet can take {rollout.new_image_name}"


def _superseded(
    rollout: Rollout, ctx: MessageContext, settings: RolloutSettings
) -> tuple[str, str]:
    body = (
        f"The roll-out of {rollout.new_image_name} stopped: the lineage has a newer image, "
        f"{rollout.superseded_by}, and fleets are never moved back to an older one. "
        "Production fleets were not touched by this roll-out; the newer image has a roll-out "
        "of its own.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        + _fleets(
            [n for n in rollout.passed_over if n.stage == CANARY],
            label="Canary fleets moved on or passed over",
        )
        + _canaries_left(rollout)
    )
    return body, f"AppStream roll-out superseded: {rollout.new_image_name}"


def _failed(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> tuple[str, str]:
    name, cause = _error_details(rollout.error)
    changed = rollout.updated
    if rollout.fleets_read_error:
        fleets = (
            "The fleets could not be read for this e-mail "
            f"({rollout.fleets_read_error}): check the fleets tagged {FOLLOWS_TAG}="
            f"{rollout.root_image_name}; for each one the updater changed, its previous image "
            "is recorded in the updater's ledger (mirrored in the tag "
            "AppStreamImageUpdater:PreviousImage), and `run-now rollback --fleet` uses it.\n\n"
        )
    elif changed:
        fleets = _changed(
            changed, rollout.new_image_name, label="Fleets of this lineage on the new image now"
        )
    else:
        fleets = "No fleet of this lineage runs the new image.\n\n"
    body = (
        f"The roll-out of {rollout.new_image_name} stopped with an error.\n\n"
        f"{_table([*_image_rows(rollout), ('Error', name), ('Cause', cause)])}\n\n"
        + fleets
        + "The roll-out changes nothing more. Open the run below to see the failed step. To "
        f"put a fleet back on its previous image: {rollback_command('<fleet>')}\n\n"
    )
    return body, f"AppStream roll-out FAILED: {rollout.new_image_name}"


def _held_back(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> tuple[str, str]:
    if rollout.held_back:
        why = (
            "A canary fleet of this lineage cannot test it now, and production fleets get an "
            "image only after the canaries ran it healthily.\n\n"
            + _fleets(rollout.held_back, label="Canary fleets that cannot test it")
            + "What to do: make each canary able to take the image (RUNNING, an image of the "
            "same platform, not Elastic, tags exactly as documented), or remove its "
            f"{STAGE_TAG} tag if it is no canary. The next image the updater builds is "
            "rolled out under the same rules.\n\n"
        )
    else:
        why = (
            "No canary fleet is tagged for this lineage, so nothing would test the image "
            "before production, and this deployment lets production take an untested image "
            "neither with a person's approval (requireApproval=false) nor without "
            "(allowUntestedProduction=false).\n\n"
            f"What to do: tag a test fleet {FOLLOWS_TAG}={rollout.root_image_name} and "
            f"{STAGE_TAG}=canary (recommended), or deploy with -c requireApproval=true (you "
            "are asked, and told it is untested) or -c allowUntestedProduction=true.\n\n"
        )
    body = (
        f"The roll-out of {rollout.new_image_name} is held back: no fleet was changed.\n\n"
        f"{_table(_image_rows(rollout))}\n\n"
        + why
        + _fleets(
            [FleetNote(f, PRODUCTION) for f in rollout.production],
            label="Production fleets left as they are",
        )
        + _fleets(rollout.passed_over, label="Fleets following the lineage but passed over")
    )
    return body, f"AppStream roll-out HELD BACK: {rollout.new_image_name}"


_BODIES = {
    HELD_BACK: _held_back,
    NOTHING_TO_ROLL_OUT: _nothing,
    SUPERSEDED: _superseded,
    CANARIES_UPDATED: _canaries_updated,
    APPROVAL_REQUESTED: _approval_requested,
    CANARY_ROLLED_BACK: _rolled_back,
    REJECTED: _rejected,
    APPROVAL_TIMED_OUT: _timed_out,
    PRODUCTION_UPDATED: _production_updated,
    ROLLOUT_FAILED: _failed,
    APPROVAL_IGNORED: ignored,
}
