"""What an image's distribution tells: the "distributed" e-mail, listing every copy and every
share with its outcome, and the events `Image Copied`, `Image Shared`, `Distribution Failed`.

Pure: from the Regions' results as the workflow gathered them (a step that failed after its
retries leaves its error beside the Region's record: `copyError`, `shareError`). A
distribution an earlier run left owed (distribution/resume.py) says so; one whose image is no
longer in the hub gets its own e-mail (`compose_abandoned`): never silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from image_updater.distribution.models import NOT_OURS, RegionDistribution
from image_updater.distribution.owed import distribution_key
from image_updater.domain.messages import PRODUCT, MessageContext, email, error_details
from image_updater.models import AVAILABLE, Notification
from image_updater.update.reports import REPORTED_KEEP

IMAGE_COPIED = "Image Copied"
IMAGE_SHARED = "Image Shared"
DISTRIBUTION_FAILED = "Distribution Failed"
DISTRIBUTED = "DISTRIBUTED"
DISTRIBUTION_INCOMPLETE = "DISTRIBUTION_INCOMPLETE"
DISTRIBUTION_ABANDONED = "DISTRIBUTION_ABANDONED"
TIMED_OUT = "TIMED_OUT"  # still COPYING when the workflow stopped waiting


@dataclass(frozen=True)
class RegionResult:
    """One Region's record and the error of a step that failed after its retries."""

    record: RegionDistribution
    region: str  # the hub's own for its record (region None)
    copy_error: str | None = None
    share_error: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], home: str) -> RegionResult:
        record = RegionDistribution.from_event(data)
        return cls(
            record,
            record.region or home,
            _error_text(data.get("copyError")),
            _error_text(data.get("shareError")),
        )

    @property
    def is_copy(self) -> bool:
        return self.record.region is not None

    def copy_problem(self) -> str | None:
        if not self.is_copy or (self.record.state == AVAILABLE and not self.copy_error):
            return None
        if self.copy_error:
            return f"copy failed: {self.copy_error}"
        if self.record.state == TIMED_OUT:
            return f"still copying after {self.record.polls} checks; not shared there"
        return f"{'left alone' if self.record.state == NOT_OURS else 'copy failed'}: " + (
            self.record.reason or str(self.record.state)
        )

    def share_lines(self) -> list[tuple[str, str | None]]:
        """(account, problem or None) for each account of this Region."""
        if self.share_error:
            return [(t.account_id, f"not shared: {self.share_error}") for t in self.record.shares]
        outcomes = {s.account_id: s for s in self.record.shared}
        lines: list[tuple[str, str | None]] = []
        for target in self.record.shares:
            outcome = outcomes.get(target.account_id)
            if outcome is None:
                lines.append((target.account_id, "not shared: the step did not run"))
            elif not outcome.shared:
                lines.append((target.account_id, f"not shared: {outcome.reason}"))
            else:
                lines.append((target.account_id, None))
        return lines


def results(regions: list[dict[str, Any]], home: str) -> list[RegionResult]:
    return [RegionResult.from_json(region, home) for region in regions]


def failures(found: list[RegionResult]) -> list[dict[str, str | None]]:
    listed: list[dict[str, str | None]] = []
    for result in found:
        problem = result.copy_problem()
        if problem:
            listed.append({"region": result.region, "accountId": None, "reason": problem})
        listed += [
            {"region": result.region, "accountId": account, "reason": why}
            for account, why in result.share_lines()
            if why
        ]
    return listed


def compose(
    root: str,
    new_image: str,
    found: list[RegionResult],
    ctx: MessageContext,
    resumed_from: str | None = None,
) -> Notification:
    """The "distributed" e-mail (of a distribution an earlier run left owed: `resumed_from`,
    that run's execution ARN)."""
    problems = failures(found)
    copies = [r for r in found if r.is_copy]
    accounts = {a for r in found for a, why in r.share_lines() if why is None}
    if problems:
        subject = f"{PRODUCT}: {new_image} distributed with {len(problems)} failure(s)"
        intro = (
            f"{new_image} (lineage {root}) was distributed from {ctx.region}, but not "
            f"everywhere: {len(problems)} of its copies and shares failed (listed below). "
            "The others were done; the next image is distributed again in full."
        )
    else:
        subject = f"{PRODUCT}: {new_image} distributed"
        intro = (
            f"{new_image} (lineage {root}) was copied to {len(copies)} Region(s) and shared "
            f"with {len(accounts)} account(s)."
        )
    copy_lines = [
        f"  {r.region:<16}{r.copy_problem() or 'AVAILABLE, lineage tags applied'}" for r in copies
    ]
    share_lines = [
        f"  {r.region:<16}{account}  {why or 'shared (' + _permissions(r, account) + ')'}"
        for r in found
        for account, why in r.share_lines()
    ]
    return email(
        subject,
        intro,
        _resumption(resumed_from)
        + (
            " Copies it had made were found and kept (none was made twice); every share was "
            "applied again."
            if resumed_from
            else ""
        ),
        "Copies (same name and description; CopyImage copies no tags):\n"
        + ("\n".join(copy_lines) or "  none configured"),
        "Shares:\n" + ("\n".join(share_lines) or "  none configured"),
        "Consumer accounts see the image with DescribeImages(Type=SHARED) in each Region and "
        "must name it by its ARN in UpdateFleet.",
        f"Run: {ctx.execution_url()}",
        outcome=DISTRIBUTION_INCOMPLETE if problems else DISTRIBUTED,
        image=root,
        failed=bool(problems),
        new_image_name=new_image,
    )


def compose_abandoned(
    root: str, new_image: str, why: str, resumed_from: str | None, ctx: MessageContext
) -> Notification:
    """The e-mail of an owed distribution that cannot be resumed: the image left the hub (it
    was deleted, or is being deleted) after its run stopped mid-distribution."""
    return email(
        f"{PRODUCT}: {new_image} not distributed: it is no longer in {ctx.region}",
        f"The distribution of {new_image} (lineage {root}) was not resumed: {why}. Nothing "
        "was copied or shared this time.",
        _resumption(resumed_from),
        "Copies the earlier run may have made in other Regions are left as they are and "
        "shared with no one new; if the image was withdrawn, delete them there (retention "
        "removes them with the lineage's older images).",
        f"Run: {ctx.execution_url()}",
        outcome=DISTRIBUTION_ABANDONED,
        image=root,
        failed=True,
        new_image_name=new_image,
    )


def abandoned_events(
    root: str, new_image: str, why: str, ctx: MessageContext
) -> list[tuple[str, dict[str, Any]]]:
    failure = {"region": ctx.region, "accountId": None, "reason": f"not resumed: {why}"}
    return [
        (
            DISTRIBUTION_FAILED,
            {
                "rootImageName": root,
                "newImageName": new_image,
                "executionArn": ctx.execution_arn,
                "failures": [failure],
            },
        )
    ]


def report_claim(root: str, new_image: str, claimer: str, now: datetime) -> dict[str, str]:
    """The ledger item the workflow marks REPORTED once SNS accepted this e-mail (the claim
    `claimer`, the run, holds: see distribution/owed.py)."""
    return {
        "pk": root,
        "sk": distribution_key(new_image),
        "claimer": claimer,
        "keepUntil": str(int((now + REPORTED_KEEP).timestamp())),
    }


def _resumption(resumed_from: str | None) -> str:
    if not resumed_from:
        return ""
    return (
        f"This distribution was owed by the run {resumed_from.rsplit(':', 1)[-1]}, which "
        "stopped, failed or timed out before it was done; this run took it over."
    )


def events(
    root: str, new_image: str, found: list[RegionResult], ctx: MessageContext
) -> list[tuple[str, dict[str, Any]]]:
    """The events to publish: a copy made, the accounts shared with in a Region, and one for
    everything that failed."""
    account = ctx.execution_arn.split(":")[4]
    base = {"rootImageName": root, "newImageName": new_image, "executionArn": ctx.execution_arn}
    published: list[tuple[str, dict[str, Any]]] = []
    for result in found:
        arn = f"arn:{ctx.partition}:appstream:{result.region}:{account}:image/{new_image}"
        if result.is_copy and result.copy_problem() is None:
            published.append((IMAGE_COPIED, {**base, "region": result.region, "newImageArn": arn}))
        shared = [a for a, why in result.share_lines() if why is None]
        if shared:
            published.append(
                (
                    IMAGE_SHARED,
                    {**base, "region": result.region, "newImageArn": arn, "accounts": shared},
                )
            )
    problems = failures(found)
    if problems:
        published.append((DISTRIBUTION_FAILED, {**base, "failures": problems}))
    return published


def _permissions(result: RegionResult, account: str) -> str:
    target = next(t for t in result.record.shares if t.account_id == account)
    allowed = [
        name
        for name, on in (
            ("fleets", target.allow_fleet),
            ("image builders", target.allow_image_builder),
        )
        if on
    ]
    return ", ".join(allowed)


def _error_text(error: Any) -> str | None:
    if not isinstance(error, dict):
        return None
    name, cause = error_details(error)
    return f"{name}: {cause}" if cause else name
