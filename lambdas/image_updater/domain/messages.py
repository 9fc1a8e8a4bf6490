"""The e-mails. Plain text that reads well in any mail client, and a subject that names
the image and the outcome (SNS allows at most 100 printable ASCII characters)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from image_updater.errors import LAMBDA_TIMEOUT_ERRORS, shortened
from image_updater.models import (
    CHECK_FAILED,
    FAILED,
    LATE_REPORT,
    NO_UPDATE,
    REJECTED,
    SUCCEEDED,
    TIMED_OUT,
    UPDATE,
    Notification,
    UpdateTask,
)

SUBJECT_MAX = 99
_PRODUCT = "AppStream image updater"
# An e-mail quotes at most this much of any one cause (the full text is in the run's history).
CAUSE_MAX = 1500
_LAMBDA_TIMEOUT_HINT = (
    "A step of the updater ran out of time (its Lambda function timed out), usually because "
    "AppStream answered very slowly. Nothing to do if it happens once: the next run picks "
    "the image up again, following an update already under way rather than starting a "
    "second one. If it repeats, open the run below and check the step's logs."
)

# What to do about the failures AppStream and the updater can report, by code or error name.
REMEDIATION_HINTS: dict[str, str] = {
    "IMAGE_UPDATE_FAILURE": (
        "AppStream could not apply the updates. Check that the source image still starts "
        "on an image builder, that its SSM agent is recent, and that it has no pending "
        "reboot or disk-space problem; the next scheduled run tries again."
    ),
    "INTERNAL_ERROR": (
        "AppStream reported an internal error. The next scheduled run tries again; if it "
        "keeps failing, open a case with AWS Support quoting the image name."
    ),
    "INTERNAL_SERVICE_ERROR": (
        "AppStream reported an internal error. The next scheduled run tries again; if it "
        "keeps failing, open a case with AWS Support quoting the image name."
    ),
    "IMAGE_BUILDER_NOT_AVAILABLE": (
        "AppStream could not start the temporary image builder for the update. Check the "
        "image builder quota in Service Quotas and that the instance type is offered in "
        "this Region."
    ),
    "NETWORK_INTERFACE_LIMIT_EXCEEDED": (
        "The account ran out of network interfaces. Raise the quota or free unused ENIs."
    ),
    "SUBNET_HAS_INSUFFICIENT_IP_ADDRESSES": "Free IP addresses in the subnet, or use a larger one.",
    "IAM_SERVICE_ROLE_IS_MISSING": (
        "The AppStream service role (AmazonAppStreamServiceAccess) is missing; recreate it "
        "as described in the AppStream administration guide."
    ),
    "SourceImageNotFound": (
        "Check the spelling in `imageNames` and that you deploy to the Region that holds "
        "the image, then run `cdk deploy` again."
    ),
    "NoAvailableImage": (
        "Wait until an image of the lineage is AVAILABLE, or delete FAILED ones and check "
        "the root image in the AppStream console."
    ),
    "UpdateNotPermitted": (
        "AppStream refuses managed updates for this image. Managed updates work on images "
        "you own (not shared with you) of Windows Server, Red Hat Enterprise Linux or Rocky "
        "Linux, built from a base image released on or after 2017-07-24, with English or "
        "Japanese display language and a recent SSM agent. Rebuild the image on a current "
        "base image, or remove it from `imageNames`."
    ),
    "UpdateQuotaExceeded": (
        "An AppStream quota is reached: images (default 10 per Region), image builders "
        "(default 10; every update runs a temporary one), or concurrent image updates "
        "(default 5). Delete images or stop image builders you no longer need (older images "
        "of this lineage are kept), request a higher quota in Service Quotas, or lower "
        "`maxConcurrentUpdates`."
    ),
    "UpdateSlotsBusy": (
        "Earlier updates of your images (possibly from runs that stopped waiting after "
        "maxUpdateHours) are still building, and the updater never runs more than "
        "maxConcurrentUpdates at once. Nothing to do: the next scheduled run tries again."
    ),
    "AppStreamBusy": (
        "AppStream kept answering that the image is being modified. The next scheduled run "
        "tries again; avoid editing the image while the updater runs."
    ),
    "AppStreamThrottled": (
        "AppStream throttled the requests even after retries. The next scheduled run tries "
        "again; if this repeats, lower `maxConcurrentUpdates`."
    ),
    "AppStreamUnreachable": (
        "The updater could not reach AppStream (network errors even after retries). The next "
        "scheduled run tries again; if this repeats, check the AWS Health Dashboard for the "
        "Region."
    ),
    "LedgerUnavailable": (
        "The updater's own DynamoDB table did not answer. The next scheduled run tries again; "
        "if this repeats, check that the table of this stack still exists."
    ),
    "LineageBusy": (
        "Another run kept the lineage locked while it started an update, or started one "
        "AppStream did not list yet. The next run follows that update; nothing to do."
    ),
    "UpdatesLockBusy": (
        "Other runs kept the account's updates lock (held while one counts the updates "
        "running and starts one) for over 25 minutes. The next run tries again; nothing to do."
    ),
    "ImageNameTaken": (
        "An image with the name the updater derives already exists and was not created by "
        "it. Rename or delete that image."
    ),
    "ImageDisappeared": "The new image was deleted while it was being built; nothing to do.",
    "InvalidExecutionInput": (
        "Start runs with an input like the example above, or with `make run-now`."
    ),
    **dict.fromkeys(LAMBDA_TIMEOUT_ERRORS, _LAMBDA_TIMEOUT_HINT),
    TIMED_OUT: (
        "The update may still finish: AppStream keeps building it. The next scheduled run "
        "follows it and e-mails the result; to wait longer each run, raise `maxUpdateHours`."
    ),
}
_GENERIC_HINT = (
    "Open the run below to see the failed step. The next scheduled run tries again; nothing "
    "was changed on your fleets."
)


@dataclass(frozen=True)
class MessageContext:
    region: str
    partition: str
    execution_arn: str
    now: datetime
    max_update_hours: int

    @property
    def console(self) -> str:
        domain = {
            "aws-cn": "console.amazonaws.cn",
            "aws-us-gov": "console.amazonaws-us-gov.com",
        }.get(self.partition, "console.aws.amazon.com")
        return f"https://{self.region}.{domain}"

    def execution_url(self) -> str:
        return (
            f"{self.console}/states/home?region={self.region}"
            f"#/v2/executions/details/{quote(self.execution_arn, safe=':')}"
        )

    def images_url(self) -> str:
        return f"{self.console}/appstream2/home?region={self.region}#/images"

    def quotas_url(self) -> str:
        return f"{self.console}/servicequotas/home/services/appstream2/quotas?region={self.region}"


def _subject(text: str) -> str:
    printable = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return printable if len(printable) <= SUBJECT_MAX else printable[: SUBJECT_MAX - 3] + "..."


def _when(value: str | datetime | None) -> str:
    if value is None:
        return "unknown"
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(value.replace("Z", "+00:00"))
    )
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(start: str | None, end: datetime) -> str:
    if not start:
        return "unknown"
    began = datetime.fromisoformat(start.replace("Z", "+00:00"))
    minutes = max(0, int((end - began).total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _table(rows: list[tuple[str, str | None]]) -> str:
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label + ':':<{width}}{value}" for label, value in rows if value)


def _hint(*keys: str | None) -> str:
    for key in keys:
        if key and key in REMEDIATION_HINTS:
            return REMEDIATION_HINTS[key]
    return _GENERIC_HINT


def _footer(ctx: MessageContext) -> str:
    return (
        f"Images in the AppStream console: {ctx.images_url()}\n"
        f"This run in Step Functions:      {ctx.execution_url()}\n\n"
        f"-- {_PRODUCT}. Nothing on your fleets was changed: point a fleet at a new image "
        "when you have tested it."
    )


def _error_details(error: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """Step Functions' Catch gives {"Error": name, "Cause": text or Lambda's JSON}."""
    if not error:
        return None, None
    name, cause = error.get("Error"), error.get("Cause")
    if isinstance(cause, str) and cause.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            cause = json.loads(cause).get("errorMessage", cause)
    return (
        shortened(str(name), 200) if name is not None else None,
        shortened(str(cause), CAUSE_MAX) if cause is not None else None,
    )


def compose(
    task: UpdateTask, ctx: MessageContext, error: dict[str, Any] | None = None
) -> Notification:
    """The e-mail for one image's outcome. `error` is what a Catch rule captured, if any."""
    notification = _compose(task, ctx, error)
    if not task.root_missing:
        return notification
    note = (
        f"Note: the configured image {task.root_image_name} no longer exists. The updater "
        "carries on from the newest image it built from it; keep the name in `imageNames`, "
        "it still names the lineage.\n\n"
    )
    footer_at = notification.body.index("Images in the AppStream console:")
    body = notification.body[:footer_at] + note + notification.body[footer_at:]
    return dataclasses.replace(notification, body=body)


def _compose(
    task: UpdateTask, ctx: MessageContext, error: dict[str, Any] | None = None
) -> Notification:
    # The "could not check" e-mail lives in its own module, which builds on this one.
    from image_updater.domain import could_not_check

    if error:
        name, _ = _error_details(error)
        if task.action == UPDATE and task.image is None and name in LAMBDA_TIMEOUT_ERRORS:
            return _start_unconfirmed(task, ctx, error)
        if could_not_check.applies(name):
            return could_not_check.compose(task, ctx, error)
        return _failure(task, ctx, error)
    if task.outcome == SUCCEEDED:
        return _success(task, ctx)
    if task.outcome == NO_UPDATE:
        return _no_update(task, ctx)
    if task.outcome == TIMED_OUT:
        return _timed_out(task, ctx)
    return _failure(task, ctx, None)


def _image_rows(
    task: UpdateTask, ctx: MessageContext, end_label: str = "Reported"
) -> list[tuple[str, str | None]]:
    image, source = task.image, task.source
    return [
        ("Configured image", task.root_image_name),
        # Only once the image exists: a failed create must not name an image nobody can find.
        ("New image", task.new_image_name if image else None),
        ("New image ARN", image.arn if image else None),
        ("Updated from", source.name if source else None),
        ("State", image.state if image else None),
        ("Platform", image.platform if image else None),
        ("Agent version", image.agent_version if image else None),
        ("Started", _when(image.created_time) if image and image.created_time else None),
        (end_label, _when(ctx.now)),
        ("Duration", _duration(image.created_time, ctx.now) if image else None),
    ]


def _earlier_run(task: UpdateTask) -> str:
    if task.action != LATE_REPORT:
        return ""
    return (
        "This update was started by an earlier run, which stopped waiting for it before it "
        "finished; this run found it settled.\n\n"
    )


def _retention(task: UpdateTask) -> str:
    """What retention did after this update settled, for the e-mail (empty when nothing to
    say)."""
    retention = task.retention
    if not retention:
        return ""
    if "Error" in retention:
        name, cause = _error_details(retention)
        return (
            f"Older images: retention did not run ({name}: {cause}). Nothing was deleted; the "
            "next update that settles tries again.\n\n"
        )
    lines = []
    deleted = list(retention.get("deleted", []))
    if deleted:
        more = f" and {retention['moreDeleted']} more" if retention.get("moreDeleted") else ""
        lines.append(
            "Deleted older images of this lineage (beyond keepImages): " + ", ".join(deleted) + more
        )
    kept = list(retention.get("kept", []))
    if kept:
        more = f"\n  ... and {retention['moreKept']} more" if retention.get("moreKept") else ""
        lines.append(
            "Kept although beyond keepImages:\n"
            + "\n".join(f"  - {k.get('name')}: {k.get('reason')}" for k in kept)
            + more
        )
    return "".join(line + "\n\n" for line in lines)


def _success(task: UpdateTask, ctx: MessageContext) -> Notification:
    body = (
        "A new AppStream image with the latest operating system, driver and agent updates is "
        f"ready.\n\n{_earlier_run(task)}"
        f"{_table(_image_rows(task, ctx, end_label='Finished'))}\n\n"
        f"{_retention(task)}"
        "Next: test the image (start an image builder or a staging fleet from it), then "
        "point your fleets at it. Fleets tagged AppStreamImageUpdater:Image="
        f"{task.root_image_name} get it from the updater's roll-out instead, canary first, "
        "with e-mails of their own.\n\n"
        f"{_footer(ctx)}\n"
    )
    return Notification(
        subject=_subject(f"AppStream image ready: {task.new_image_name}"),
        body=body,
        outcome=SUCCEEDED,
        image=task.root_image_name,
        new_image_name=task.new_image_name,
    )


def _no_update(task: UpdateTask, ctx: MessageContext) -> Notification:
    newest = task.source.name if task.source else task.root_image_name
    body = (
        f"No updates are available for {newest}, the newest image of the lineage of "
        f"{task.root_image_name}. Nothing was created.\n\n{_footer(ctx)}\n"
    )
    return Notification(
        subject=_subject(f"AppStream image up to date: {task.root_image_name}"),
        body=body,
        outcome=NO_UPDATE,
        image=task.root_image_name,
    )


def _timed_out(task: UpdateTask, ctx: MessageContext) -> Notification:
    body = (
        f"The update of {task.root_image_name} was still running after "
        f"{ctx.max_update_hours} h (maxUpdateHours), so this run stopped waiting.\n\n"
        f"{_table(_image_rows(task, ctx))}\n\nWhat to do: {_hint(TIMED_OUT)}\n\n{_footer(ctx)}\n"
    )
    return Notification(
        subject=_subject(f"AppStream image update still running: {task.root_image_name}"),
        body=body,
        outcome=TIMED_OUT,
        image=task.root_image_name,
        failed=True,
        new_image_name=task.new_image_name,
    )


def _start_unconfirmed(
    task: UpdateTask, ctx: MessageContext, error: dict[str, Any]
) -> Notification:
    """The step that starts the update ran out of time: AppStream may have accepted it."""
    name, _ = _error_details(error)
    rows = [
        ("Configured image", task.root_image_name),
        ("Image it may build", task.new_image_name),
        ("Updated from", task.source.name if task.source else None),
        ("Error", name),
        ("Reported", _when(ctx.now)),
    ]
    body = (
        f"The step that starts the update of {task.root_image_name} did not finish in time, "
        "so this run cannot tell whether AppStream accepted the update.\n\n"
        f"{_table(rows)}\n\n"
        f"What to do: nothing, usually. If an image named {task.new_image_name} appears in "
        "the AppStream console, it is being built: the next run follows it (it does not start "
        "a second one) and e-mails the result. If no such image appears, the next run starts "
        "the update again.\n\n"
        f"{_footer(ctx)}\n"
    )
    return Notification(
        subject=_subject(f"AppStream image update not confirmed: {task.root_image_name}"),
        body=body,
        outcome=CHECK_FAILED,
        image=task.root_image_name,
        failed=True,
        new_image_name=task.new_image_name,
    )


def _failure(task: UpdateTask, ctx: MessageContext, error: dict[str, Any] | None) -> Notification:
    name, cause = _error_details(error)
    image = task.image
    rows = _image_rows(task, ctx)
    if image and image.state == FAILED:
        reason = ": ".join(filter(None, (image.reason_code or "UNKNOWN", image.reason_message)))
        rows.append(("Reason", reason))
    if name:
        rows.append(("Error", name))
    lines = [_table(rows)]
    if cause:
        lines.append(f"What happened: {cause}")
    if image and image.errors:
        more = (
            f"\n  ... and {image.more_errors} more (see the image in the console)"
            if image.more_errors
            else ""
        )
        lines.append(
            "Image errors reported by AppStream:\n"
            + "\n".join(f"  - {e.code}: {e.message} ({_when(e.timestamp)})" for e in image.errors)
            + more
        )
    error_codes = [e.code for e in image.errors] if image else []
    hint = _hint(name, image.reason_code if image else None, *error_codes)
    lines.append(f"What to do: {hint}")
    if name == "UpdateQuotaExceeded":
        lines.append(f"AppStream quotas in Service Quotas: {ctx.quotas_url()}")
    if retention := _retention(task).rstrip():
        lines.append(retention)
    body = (
        f"The update of the AppStream image {task.root_image_name} failed.\n\n"
        + _earlier_run(task)
        + "\n\n".join(lines)
        + f"\n\n{_footer(ctx)}\n"
    )
    return Notification(
        subject=_subject(f"AppStream image update FAILED: {task.root_image_name}"),
        body=body,
        outcome=FAILED,
        image=task.root_image_name,
        failed=True,
        new_image_name=task.new_image_name,
    )


def compose_rejected_run(ctx: MessageContext, error: dict[str, Any]) -> Notification:
    """The e-mail for a run whose input was refused before any image was looked at."""
    name, cause = _error_details(error)
    body = (
        "A run of the AppStream image updater was refused and updated nothing.\n\n"
        f"Error: {name}\n" + (f"What happened: {cause}\n" if cause else "") + "\n"
        f"What to do: {_hint(name)}\n\n{_footer(ctx)}\n"
    )
    return Notification(
        subject=_subject(
            "AppStream image updater: run refused (invalid input)"
            if name == "InvalidExecutionInput"
            else "AppStream image updater: run could not start"
        ),
        body=body,
        outcome=REJECTED,
        image="-",
        failed=True,
    )


# The breaker's e-mail (message attribute `outcome`): the workflow paused its own schedule.
SCHEDULE_PAUSED = "SCHEDULE_PAUSED"
RESUME_COMMAND = 'make run-now ARGS="--resume-schedule"'
DRY_RUN_COMMAND = 'make run-now ARGS="--dry-run"'


def compose_schedule_paused(
    ctx: MessageContext,
    *,
    schedule: Mapping[str, Any],
    consecutive_failed_runs: int,
    limit: int,
    failed_executions: Sequence[str],
) -> Notification:
    """The one e-mail of a breaker trip: what was paused and why, the failed runs, what to
    fix, how to resume, and what `cdk deploy` does to a paused schedule."""
    name = schedule.get("Name", "the updater's schedule")
    expression = schedule.get("ScheduleExpression")
    zone = schedule.get("ScheduleExpressionTimezone")
    rows: list[tuple[str, str | None]] = [
        ("Schedule", f"{name} (group {schedule.get('GroupName', 'default')})"),
        ("Runs", f"{expression} ({zone})" if expression else None),
        ("State", "DISABLED (paused)"),
        ("Paused", _when(ctx.now)),
    ]
    shown = list(failed_executions)
    earlier = consecutive_failed_runs - len(shown)
    runs = "\n".join(
        f"  {index}. {dataclasses.replace(ctx, execution_arn=arn).execution_url()}"
        for index, arn in enumerate(shown, start=1)
    )
    if earlier > 0:
        runs = f"  ... {earlier} earlier\n{runs}"
    several = consecutive_failed_runs != 1
    body = (
        "The AppStream image updater paused its schedule: "
        + (
            f"the last {consecutive_failed_runs} scheduled runs failed, one after the other"
            if several
            else "the last scheduled run failed"
        )
        + f" (maxConsecutiveFailedRuns is {limit}). "
        "No run starts by itself until you resume it. Nothing else was changed, and runs "
        "you start by hand still work.\n\n"
        f"{_table(rows)}\n\n"
        f"The failed scheduled runs, oldest first:\n{runs}\n\n"
        "What to do:\n"
        "1. Fix the cause. Each of these runs e-mailed why it failed and what to do about it; "
        "open a run above to see the step that failed.\n"
        f"2. Check the fix without waiting for the schedule: {DRY_RUN_COMMAND}\n"
        f"3. Resume the schedule: {RESUME_COMMAND}\n"
        "   It turns the schedule back on, keeping every other setting, and starts the count "
        "of failed runs again from 0. Use it rather than `aws scheduler update-schedule`, "
        "which replaces the whole schedule: every setting it is not given again (the runs' "
        "input, retries, dead-letter queue, time zone) goes back to its default. Turned on "
        "any other way (the EventBridge Scheduler console, a deploy), the schedule runs with "
        "the count as it was, and the next failed scheduled run pauses it again at once: run "
        "the command above to reset it.\n\n"
        "About `cdk deploy`: a deploy that does not change the schedule leaves it paused "
        "(CloudFormation only updates what the template changes). A deploy that changes it "
        "(a new scheduleExpression, scheduleTimezone or imageNames, for example) applies the "
        "template's state and so turns it back on.\n\n"
        f"This run in Step Functions: {ctx.execution_url()}\n\n"
        f"-- {_PRODUCT}.\n"
    )
    return Notification(
        subject=_subject(
            "AppStream image updater PAUSED: "
            + (
                f"{consecutive_failed_runs} scheduled runs failed in a row"
                if several
                else "a scheduled run failed"
            )
        ),
        body=body,
        outcome=SCHEDULE_PAUSED,
        image="-",
        failed=True,
    )
