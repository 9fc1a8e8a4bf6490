"""The parts the update's e-mails share: the image's rows, the note of a report an earlier run
left, what retention did, and the footer."""

from __future__ import annotations

from datetime import datetime

from image_updater.domain.messages import PRODUCT, MessageContext, error_details, when
from image_updater.models import LATE_REPORT
from image_updater.update.task import UpdateTask


def image_rows(
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
        ("Started", when(image.created_time) if image and image.created_time else None),
        (end_label, when(ctx.now)),
        ("Duration", _duration(image.created_time, ctx.now) if image else None),
    ]


def _duration(start: str | None, end: datetime) -> str:
    if not start:
        return "unknown"
    began = datetime.fromisoformat(start.replace("Z", "+00:00"))
    minutes = max(0, int((end - began).total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60:02d} min"


def earlier_run(task: UpdateTask) -> str:
    if task.action != LATE_REPORT:
        return ""
    return (
        "This update was started by an earlier run, which stopped waiting for it before it "
        "finished; this run found it settled."
    )


def retention(task: UpdateTask) -> str:
    """What retention did after this update settled, for the e-mail (empty when nothing to
    say)."""
    retention = task.retention
    if not retention:
        return ""
    if "Error" in retention:
        name, cause = error_details(retention)
        return (
            f"Older images: retention did not run ({name}: {cause}). Nothing was deleted; the "
            "next update that settles tries again."
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
    if "unshared" in retention or "regions" in retention:  # only with distribution
        from image_updater.retention.report import region_lines

        lines += region_lines(retention)
    return "\n\n".join(lines)


def footer(task: UpdateTask | None, ctx: MessageContext) -> str:
    """The links, and the promise that no fleet was changed; first, for a lineage whose
    configured image was deleted, the note that it carries on."""
    note = (
        f"Note: the configured image {task.root_image_name} no longer exists. The updater "
        "carries on from the newest image it built from it; keep the name in `imageNames`, "
        "it still names the lineage.\n\n"
        if task and task.root_missing
        else ""
    )
    return (
        f"{note}Images in the AppStream console: {ctx.images_url()}\n"
        f"This run in Step Functions:      {ctx.execution_url()}\n"
        f"The updater's dashboard:         {ctx.dashboard_url()}\n\n"
        f"-- {PRODUCT}. Nothing on your fleets was changed: point a fleet at a new image "
        "when you have tested it."
    )
