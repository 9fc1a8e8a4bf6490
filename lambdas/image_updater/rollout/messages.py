"""The roll-out's e-mails: every change to a fleet is told, with what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from image_updater.approval.messages import APPROVAL_IGNORED, ignored
from image_updater.domain.messages import (
    PRODUCT,
    MessageContext,
    email,
    error_details,
    table,
    when,
)
from image_updater.models import Notification
from image_updater.rollout.models import (
    CANARY,
    FOLLOWS_TAG,
    PRODUCTION,
    STAGE_TAG,
    FleetNote,
    Rollout,
)
from image_updater.rollout.outcomes import (
    APPROVAL_REQUESTED,
    APPROVAL_TIMED_OUT,
    CANARIES_UPDATED,
    CANARY_ROLLED_BACK,
    HELD_BACK,
    NOTHING_TO_ROLL_OUT,
    PRODUCTION_UPDATED,
    REJECTED,
    ROLLOUT_FAILED,
    ROLLOUT_FAILURES,
    SUPERSEDED,
)
from image_updater.rollout.settings import RolloutSettings

SESSIONS_NOTE = (
    'What happens to running sessions (AWS, "Update a fleet"): on a running Always-On or '
    "On-Demand fleet, active sessions go on undisturbed on the old image; unused instances are "
    "replaced with the new image, and instances in use are replaced once their sessions end. A "
    "stopped fleet starts on the new image. On multi-session fleets an instance changes only "
    "when all of its sessions have ended: drain instances (DrainSessionInstance) if they must "
    "change sooner."
)


def _stack(stack: str) -> str:
    """run-now's `--stack`, when the stack is not its default (a spoke's)."""
    return f" --stack {stack}" if stack else ""


def approve_command(ctx: MessageContext, root: str, stack: str = "") -> str:
    return f'make run-now ARGS="approve {ctx.execution_arn} --image {root}{_stack(stack)}"'


def reject_command(ctx: MessageContext, root: str, stack: str = "") -> str:
    return (
        f'make run-now ARGS="reject {ctx.execution_arn} --image {root}{_stack(stack)} '
        "--reason '...'\""
    )


def rollback_command(fleet: str, stack: str = "") -> str:
    return f'make run-now ARGS="rollback --fleet {fleet}{_stack(stack)}"'


def _fleets(notes: Sequence[FleetNote], *, label: str) -> str:
    if not notes:
        return ""
    lines = "\n".join(
        f"  - {n.fleet}" + (f" ({n.stage})" if n.stage else "") + (f": {n.note}" if n.note else "")
        for n in notes
    )
    return f"{label}:\n{lines}"


def _changed(notes: Sequence[FleetNote], image: str, *, label: str) -> str:
    if not notes:
        return ""
    lines = "\n".join(f"  - {n.fleet}: {n.note or 'no image'} -> {image}" for n in notes)
    return f"{label}:\n{lines}"


def _went_back(notes: Sequence[FleetNote], image: str) -> str:
    if not notes:
        return ""
    lines = "\n".join(f"  - {n.fleet}: {image} -> {n.note}" for n in notes)
    return f"Rolled back:\n{lines}"


def _window(settings: RolloutSettings) -> str:
    if settings.rollout_window == "immediately":
        return "immediately"
    return f"at the next start of {settings.rollout_window} ({settings.timezone})"


def compose(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> Notification:
    """The e-mail for a roll-out milestone (the roll-out's `outcome`)."""
    outcome = rollout.outcome or ROLLOUT_FAILED
    subject, paragraphs = _BODIES.get(outcome, _failed)(rollout, ctx, settings)
    return email(
        subject,
        *paragraphs,
        ctx.run_links(),
        f"-- {PRODUCT}. It changes only fleets tagged {FOLLOWS_TAG}=<image> and "
        f"{STAGE_TAG}=canary|production; remove a tag to opt a fleet out.",
        outcome=outcome,
        image=rollout.root_image_name,
        failed=outcome in ROLLOUT_FAILURES,
        new_image_name=rollout.new_image_name,
    )


def _image_rows(rollout: Rollout) -> list[tuple[str, str | None]]:
    return [
        ("New image", rollout.new_image_name),
        ("Lineage", rollout.root_image_name),
        ("Platform", rollout.platform),
    ]


# Each milestone's e-mail: its subject, then its paragraphs (an empty one is left out).
_Email = tuple[str, list[str]]


def _canaries_updated(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    soak_end = ctx.now + timedelta(hours=settings.canary_soak_hours)
    check = (
        f"Their health is checked at {when(soak_end)}, after {settings.canary_soak_hours} h "
        if settings.canary_soak_hours
        else "Their health is checked now "
    )
    alarms = ", ".join(settings.canary_alarm_names) or "none configured"
    next_step = (
        "If they are healthy, you are asked to approve production."
        if settings.require_approval
        else f"If they are healthy, production fleets get the image {_window(settings)}."
    )
    return f"AppStream canary fleets updated: {rollout.new_image_name}", [
        f"Canary fleets now run the new image {rollout.new_image_name}.",
        table(_image_rows(rollout)),
        _changed(rollout.updated_in(CANARY), rollout.new_image_name, label="Canary fleets"),
        _fleets(rollout.not_updated, label="Not updated"),
        _fleets(rollout.passed_over, label="Fleets following the lineage but passed over"),
        f"{check}(fleet state, fleet errors, at least one instance running and running vs "
        f"desired capacity, a dip re-checked a few times minutes apart, alarms: {alarms}). "
        f"An unhealthy canary is put back on its previous image automatically. {next_step}",
        SESSIONS_NOTE,
    ]


def _approval_requested(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    deadline = ctx.now + timedelta(hours=settings.approval_timeout_hours)
    canaries = rollout.canaries if rollout.canaries_updated_at else ()
    if canaries:
        tested_since = rollout.canaries_updated_at
        tested = (
            f"Tested on canary fleets {', '.join(canaries)} since "
            f"{when(tested_since)} ({_hours_since(tested_since, ctx.now)}). After the soak "
            "they were healthy: RUNNING, no fleet errors, at least one instance running and "
            "running capacity at the desired level"
            + (
                f", alarms OK: {', '.join(settings.canary_alarm_names)}"
                if settings.canary_alarm_names
                else " (no alarms configured: canaryAlarmNames)"
            )
            + "."
        )
    else:
        tested = (
            "UNTESTED: no canary fleet is tagged for this lineage, so no canary ran this "
            "image and nothing has tested it on a fleet. If you approve, production gets it "
            f"untested. Tag a test fleet {STAGE_TAG}=canary to have the next image tried "
            "there first."
        )
    production = ", ".join(rollout.production) or "none tagged yet"
    return f"Approval needed: AppStream image {rollout.new_image_name} to production", [
        f"Approval needed: roll {rollout.new_image_name} out to production fleets.",
        table(_image_rows(rollout)),
        tested,
        "Production fleets (only these may change; one untagged by then is left out, one "
        f"tagged after this e-mail waits for the next approved roll-out): {production}\n"
        f"They get the image {_window(settings)} after approval.",
        "To approve (with your own AWS credentials, as one of the principals named in "
        "`approvers`: the command calls the updater's approval function, which records who "
        "AWS says you are; nothing in this e-mail grants anything):\n"
        f"  {approve_command(ctx, rollout.root_image_name, settings.run_now_stack)}\n"
        "To reject:\n"
        f"  {reject_command(ctx, rollout.root_image_name, settings.run_now_stack)}",
        f"Without an answer by {when(deadline)} ({settings.approval_timeout_hours} h, "
        "approvalTimeoutHours) the roll-out ends and production stays as it is.",
        SESSIONS_NOTE,
    ]


def _hours_since(start: str | None, now: datetime) -> str:
    if not start:
        return "unknown"
    began = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return f"{max(0.0, (now - began).total_seconds() / 3600):.0f} h"


def _rolled_back(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
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
    return f"AppStream canary UNHEALTHY{rolled}: {rollout.new_image_name}", [
        f"The canary fleets were unhealthy with {rollout.new_image_name}, {what}. Production "
        "fleets were not touched.",
        table(_image_rows(rollout)),
        f"Why:\n{problems}",
        _went_back(rollout.rolled_back, rollout.new_image_name),
        _fleets(rollout.not_updated, label="Not changed or not rolled back (check these)"),
        "What to do: look at the canary fleets' errors and alarms in the console. The next "
        "image the updater builds is tried on the canaries again.",
    ]


def _canaries_left(rollout: Rollout, stack: str) -> str:
    moved_on = {n.fleet for n in rollout.passed_over}
    canaries = [n for n in rollout.updated_in(CANARY) if n.fleet not in moved_on]
    if not canaries:
        return ""
    commands = "\n".join(f"  {rollback_command(n.fleet, stack)}" for n in canaries)
    return (
        "The canary fleets keep the new image. To put them back on their previous image:\n"
        f"{commands}"
    )


def _rejected(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    approval = rollout.approval or {}
    by = approval.get("by") or "unknown"
    reason = approval.get("reason") or "none given"
    return f"AppStream roll-out rejected: {rollout.new_image_name}", [
        f"The roll-out of {rollout.new_image_name} to production was rejected. Production "
        "fleets were not touched.",
        table([*_image_rows(rollout), ("Rejected by", str(by)), ("Reason", str(reason))]),
        _canaries_left(rollout, settings.run_now_stack),
    ]


def _timed_out(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    return f"AppStream roll-out approval timed out: {rollout.new_image_name}", [
        f"Nobody approved the roll-out of {rollout.new_image_name} within "
        f"{settings.approval_timeout_hours} h (approvalTimeoutHours), so it ended. Production "
        "fleets were not touched.",
        table(_image_rows(rollout)),
        _canaries_left(rollout, settings.run_now_stack),
        "The next image the updater builds starts a new roll-out, with a new approval.",
    ]


def _production_updated(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    production = rollout.updated_in(PRODUCTION)
    approval = rollout.approval or {}
    commands = "\n".join(
        f"  {rollback_command(n.fleet, settings.run_now_stack)}" for n in production
    )
    return f"AppStream production fleets updated: {rollout.new_image_name}", [
        f"Production fleets now run {rollout.new_image_name}.",
        table(_image_rows(rollout)),
        f"Approved by {approval.get('by')}." if approval.get("by") else "",
        _changed(production, rollout.new_image_name, label="Production fleets")
        if production
        else "No production fleet was changed (none tagged, or none could take it).",
        _fleets(
            [n for n in rollout.not_updated if n.stage == PRODUCTION],
            label="Not updated (AppStream refused; check these)",
        ),
        _fleets(rollout.passed_over, label="Fleets following the lineage but passed over"),
        SESSIONS_NOTE,
        f"To put a fleet back on its previous image:\n{commands}" if commands else "",
    ]


def _nothing(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    return f"AppStream roll-out: no fleet can take {rollout.new_image_name}", [
        f"Fleets follow the lineage of {rollout.root_image_name}, but none of them can take "
        f"{rollout.new_image_name}; nothing was changed.",
        table(_image_rows(rollout)),
        _fleets(rollout.passed_over, label="Fleets passed over"),
    ]


def _superseded(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    return f"AppStream roll-out superseded: {rollout.new_image_name}", [
        f"The roll-out of {rollout.new_image_name} stopped: the lineage has a newer image, "
        f"{rollout.superseded_by}, and fleets are never moved back to an older one. "
        "Production fleets were not touched by this roll-out; the newer image has a roll-out "
        "of its own.",
        table(_image_rows(rollout)),
        _fleets(
            [n for n in rollout.passed_over if n.stage == CANARY],
            label="Canary fleets moved on or passed over",
        ),
        _canaries_left(rollout, settings.run_now_stack),
    ]


def _failed(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    name, cause = error_details(rollout.error)
    changed = rollout.updated
    if rollout.fleets_read_error:
        fleets = (
            "The fleets could not be read for this e-mail "
            f"({rollout.fleets_read_error}): check the fleets tagged {FOLLOWS_TAG}="
            f"{rollout.root_image_name}; for each one the updater changed, its previous image "
            "is recorded in the updater's ledger (mirrored in the tag "
            "AppStreamImageUpdater:PreviousImage), and `run-now rollback --fleet` uses it."
        )
    elif changed:
        fleets = _changed(
            changed, rollout.new_image_name, label="Fleets of this lineage on the new image now"
        )
    else:
        fleets = "No fleet of this lineage runs the new image."
    return f"AppStream roll-out FAILED: {rollout.new_image_name}", [
        f"The roll-out of {rollout.new_image_name} stopped with an error.",
        table([*_image_rows(rollout), ("Error", name), ("Cause", cause)]),
        fleets,
        "The roll-out changes nothing more. Open the run below to see the failed step. To "
        f"put a fleet back on its previous image: "
        f"{rollback_command('<fleet>', settings.run_now_stack)}",
    ]


def _held_back(rollout: Rollout, ctx: MessageContext, settings: RolloutSettings) -> _Email:
    if rollout.held_back:
        why = [
            "A canary fleet of this lineage cannot test it now, and production fleets get an "
            "image only after the canaries ran it healthily.",
            _fleets(rollout.held_back, label="Canary fleets that cannot test it"),
            "What to do: make each canary able to take the image (RUNNING, an image of the "
            "same platform, not Elastic, tags exactly as documented), or remove its "
            f"{STAGE_TAG} tag if it is no canary. The next image the updater builds is "
            "rolled out under the same rules.",
        ]
    else:
        why = [
            "No canary fleet is tagged for this lineage, so nothing would test the image "
            "before production, and this deployment lets production take an untested image "
            "neither with a person's approval (requireApproval=false) nor without "
            "(allowUntestedProduction=false).",
            f"What to do: tag a test fleet {FOLLOWS_TAG}={rollout.root_image_name} and "
            f"{STAGE_TAG}=canary (recommended), or deploy with -c requireApproval=true (you "
            "are asked, and told it is untested) or -c allowUntestedProduction=true.",
        ]
    return f"AppStream roll-out HELD BACK: {rollout.new_image_name}", [
        f"The roll-out of {rollout.new_image_name} is held back: no fleet was changed.",
        table(_image_rows(rollout)),
        *why,
        _fleets(
            [FleetNote(f, PRODUCTION) for f in rollout.production],
            label="Production fleets left as they are",
        ),
        _fleets(rollout.passed_over, label="Fleets following the lineage but passed over"),
    ]


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
