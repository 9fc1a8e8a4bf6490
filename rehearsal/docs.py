"""The documentation's generated sections (docs/ pages and README.md), so they cannot drift
from the code.

python -m rehearsal.docs --write    (make docs) rewrites them, then make docs builds the site
python -m rehearsal.docs --check    fails when a page differs (the tests do this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from image_updater.breaker.messages import compose_schedule_paused
from image_updater.distribution import report as distribution_report
from image_updater.domain.messages import MessageContext
from image_updater.models import (
    FAILED,
    FOLLOW,
    LATE_REPORT,
    NO_UPDATE,
    SUCCEEDED,
    TIMED_OUT,
    UPDATE,
    ImageError,
    ImageSummary,
    Notification,
)
from image_updater.update.messages import compose
from image_updater.update.messages.run_refused import compose_rejected_run
from image_updater.update.task import UpdateTask
from infra.config.table import REQUIRED, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
INDEX_PAGE = DOCS / "index.md"
HOW_IT_WORKS_PAGE = DOCS / "how-it-works.md"
GETTING_STARTED_PAGE = DOCS / "getting-started.md"
DEPLOY_PAGE = DOCS / "deploy.md"
CONFIGURATION_PAGE = DOCS / "configuration.md"
EMAILS_PAGE = DOCS / "emails.md"
YEAR_PAGE = DOCS / "year.md"
# The settings the README's front page shows; docs/configuration.md has them all.
MAIN_SETTINGS = (
    *("imageNames", "notificationEmails", "scheduleExpression", "scheduleTimezone"),
    *("keepImages", "maxConsecutiveFailedRuns", "requireApproval", "approvers"),
)
_EXECUTION = "arn:aws:states:eu-west-1:111122223333:execution:ImageUpdater:4f1c2a"
_ARN = "arn:aws:appstream:eu-west-1:111122223333:image/"


def config_table() -> str:
    """The settings table, from their one declaration (infra/config/declaration.py)."""
    rows = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for row in SETTINGS:
        default = "required" if row.default == REQUIRED else f"`{json.dumps(row.default)}`"
        rows.append(f"| `{row.key}` | {row.type} | {default} | {row.allowed} | {row.description} |")
    return "\n".join(rows)


def main_settings() -> str:
    """The rows of config_table() for MAIN_SETTINGS, under its header."""
    header, rule, *rows = config_table().split("\n")
    keyed = {match.group(1): row for row in rows if (match := re.match(r"\| `(\w+)` \|", row))}
    return "\n".join([header, rule, *(keyed[key] for key in MAIN_SETTINGS)])


def _sample_task(outcome: str | None, state: str, **image: object) -> UpdateTask:
    source = ImageSummary(
        name="SalesApps-20261101-030000", arn=_ARN + "SalesApps-20261101-030000", state="AVAILABLE"
    )
    built = ImageSummary(
        name="SalesApps-20261201-030000",
        arn=_ARN + "SalesApps-20261201-030000",
        state=state,
        created_time="2026-12-01T03:00:41+00:00",
        platform="WINDOWS_SERVER_2022",
        agent_version="1.1.1421",
        **image,  # type: ignore[arg-type]
    )
    return UpdateTask(
        root_image_name="SalesApps",
        execution_id=_EXECUTION,
        started_at="2026-12-01T03:00:00+00:00",
        action=UPDATE,
        source=source,
        new_image_name=built.name,
        image=built,
        polls=13,
        outcome=outcome,
    )


def _sample_notes() -> list[tuple[str, Notification]]:
    ctx = MessageContext(
        region="eu-west-1",
        partition="aws",
        execution_arn=_EXECUTION,
        now=datetime(2026, 12, 1, 5, 12, tzinfo=UTC),
        max_update_hours=12,
    )
    failed = _sample_task(
        FAILED,
        "FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="The image update failed.",
        errors=(
            ImageError(
                "INTERNAL_SERVICE_ERROR",
                "The temporary image builder stopped unexpectedly.",
                "2026-12-01T04:58:10+00:00",
            ),
        ),
    )
    no_update = UpdateTask(
        root_image_name="EngineeringTools",
        execution_id=_EXECUTION,
        started_at="2026-12-01T03:00:00+00:00",
        action=NO_UPDATE,
        source=ImageSummary(
            name="EngineeringTools", arn=_ARN + "EngineeringTools", state="AVAILABLE"
        ),
        outcome=NO_UPDATE,
    )
    notes = [
        ("A new image is ready", compose(_sample_task(SUCCEEDED, "AVAILABLE"), ctx)),
        ("The update failed", compose(failed, ctx)),
        (
            "Copied and shared (with copyToRegions and shareWithAccounts; here one share refused)",
            _sample_distribution(ctx),
        ),
        (
            "An error stopped the update (here: the quota, after the retries)",
            compose(
                UpdateTask(
                    root_image_name="SalesApps",
                    execution_id=_EXECUTION,
                    started_at="2026-12-01T03:00:00+00:00",
                ),
                ctx,
                {
                    "Error": "UpdateQuotaExceeded",
                    "Cause": json.dumps(
                        {
                            "errorType": "UpdateQuotaExceeded",
                            "errorMessage": "LimitExceededException: The number of images "
                            "exceeds the quota for this account.",
                        }
                    ),
                },
            ),
        ),
        ("Still building after maxUpdateHours", compose(_sample_task(TIMED_OUT, "PENDING"), ctx)),
        (
            "The next run finds that update finished (each image's result is e-mailed once)",
            compose(_sample_task(SUCCEEDED, "AVAILABLE").evolve(action=LATE_REPORT), ctx),
        ),
        (
            "A status check could not be made (here: throttling, after the retries)",
            compose(
                _sample_task(None, "PENDING").evolve(action=FOLLOW),
                ctx,
                {
                    "Error": "AppStreamThrottled",
                    "Cause": json.dumps(
                        {
                            "errorType": "AppStreamThrottled",
                            "errorMessage": "ThrottlingException: Rate exceeded",
                        }
                    ),
                },
            ),
        ),
        ("Nothing to do (only with notifyNoUpdate=true)", compose(no_update, ctx)),
        (
            "A hand-started run with bad input",
            compose_rejected_run(
                ctx,
                {
                    "Error": "InvalidExecutionInput",
                    "Cause": "The run was not started: the field 'images' is missing. "
                    "Configured images: SalesApps, EngineeringTools. Example input: "
                    '{"images": ["MyImage"], "dryRun": false}.',
                },
            ),
        ),
        (
            "The circuit breaker paused the schedule (maxConsecutiveFailedRuns=3)",
            compose_schedule_paused(
                ctx,
                schedule={
                    "Name": "AppStreamImageUpdater-schedule",
                    "GroupName": "default",
                    "ScheduleExpression": "cron(0 3 * * ? *)",
                    "ScheduleExpressionTimezone": "Europe/Paris",
                },
                consecutive_failed_runs=3,
                limit=3,
                failed_executions=[_EXECUTION[:-6] + run for run in ("1b2e7d", "9c04aa", "4f1c2a")],
            ),
        ),
    ]
    return notes


def _sample_distribution(ctx: MessageContext) -> Notification:
    """The "distributed" e-mail: copies to two Regions, shares with two accounts."""
    new_image = "SalesApps-20261201-030000"
    fleets = {"allowFleet": True, "allowImageBuilder": False}
    both = {"allowFleet": True, "allowImageBuilder": True}
    prod, dev = "444455556666", "777788889999"

    def region(name: str, shared: list[tuple[str, str | None]]) -> dict[str, object]:
        return {
            "rootImageName": "SalesApps",
            "newImageName": new_image,
            "executionId": _EXECUTION,
            "region": name,
            "shares": [{"accountId": prod, **fleets}, {"accountId": dev, **both}],
            "state": "AVAILABLE",
            "polls": 4,
            "shared": [
                {"accountId": account, "shared": why is None, "reason": why}
                for account, why in shared
            ],
        }

    regions = [
        region("", [(prod, None), (dev, None)]),
        region("eu-central-1", [(prod, None), (dev, None)]),
        region(
            "us-east-1",
            [(prod, None), (dev, "LimitExceededException: the image is shared with 100 accounts")],
        ),
    ]
    found = distribution_report.results(regions, ctx.region)
    return distribution_report.compose("SalesApps", new_image, found, ctx)


def _email_block(title: str, note: Notification) -> str:
    attributes = f"outcome={note.outcome}, image={note.image}"
    return (
        f"**{title}**\n\n```text\nSubject: {note.subject}\n"
        f"Message attributes: {attributes}\n\n{note.body.rstrip()}\n```"
    )


def sample_emails() -> str:
    """The gallery: one e-mail of each kind."""
    return "\n\n".join(_email_block(title, note) for title, note in _sample_notes())


def sample_email() -> str:
    """The front page's one e-mail: a new image is ready."""
    return _email_block(*_sample_notes()[0])


def excerpt(page: Path, name: str) -> str:
    """The part of `page` between `<!-- excerpt:name -->` and `<!-- /excerpt:name -->`: the
    README's front page shows it, the page stays where the text is written."""
    text = page.read_text(encoding="utf-8")
    start, end = f"<!-- excerpt:{name} -->\n", f"\n<!-- /excerpt:{name} -->"
    begin = text.index(start) + len(start)
    return text[begin : text.index(end, begin)]


def readme_intro() -> str:
    """The site's home page opens with the README's introduction (its links to docs/ pages
    made relative to the site's own folder)."""
    text = README.read_text(encoding="utf-8")
    return text[text.index("\n") : text.index("\n## ")].strip("\n").replace("](docs/", "](")


def year_report() -> str:
    """`make rehearse ARGS=year`'s output. It takes seconds, so `--check` leaves it to
    tests/workflow/test_year.py, which compares it with the year that test runs anyway."""
    from rehearsal import year

    return f"```text\n{year.report(year.simulate_year())}\n```"


Sections = dict[str, Callable[[], str]]
# Each page's generated sections, by the name of their markers (`<!-- name:start -->`).
PAGES: dict[Path, Sections] = {
    CONFIGURATION_PAGE: {"config-table": config_table},
    EMAILS_PAGE: {"sample-emails": sample_emails},
    README: {
        "workflow-diagram": partial(excerpt, HOW_IT_WORKS_PAGE, "workflow-diagram"),
        "two-commands": partial(excerpt, GETTING_STARTED_PAGE, "two-commands"),
        "deploy-prerequisites": partial(excerpt, DEPLOY_PAGE, "deploy-prerequisites"),
        "deploy-commands": partial(excerpt, DEPLOY_PAGE, "deploy-commands"),
        "main-settings": main_settings,
        "sample-email": sample_email,
    },
    INDEX_PAGE: {"intro": readme_intro},
}
SLOW_PAGES: dict[Path, Sections] = {YEAR_PAGE: {"year-report": year_report}}


def section(text: str, name: str) -> str:
    """The generated part of a page's `text` between the markers of section `name`."""
    start, end = f"<!-- {name}:start -->\n", f"\n<!-- {name}:end -->"
    return text[text.index(start) + len(start) : text.index(end)]


def render(text: str, sections: Sections) -> str:
    for name, produce in sections.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        pattern = re.compile(rf"{re.escape(start)}.*?{re.escape(end)}", flags=re.DOTALL)
        match = pattern.search(text)
        if not match:
            raise ValueError(f"no {name} markers")
        text = f"{text[: match.start()]}{start}\n{produce()}\n{end}{text[match.end() :]}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true")
    action.add_argument("--check", action="store_true")
    parser.add_argument(
        "--without-year",
        action="store_true",
        help="--write leaves the year's report as it is (simulating the year takes seconds)",
    )
    args = parser.parse_args(argv)
    pages = PAGES if args.check or args.without_year else {**PAGES, **SLOW_PAGES}
    stale = []
    for page, sections in pages.items():
        current = page.read_text(encoding="utf-8")
        expected = render(current, sections)
        if args.write and expected != current:
            page.write_text(expected, encoding="utf-8")
        stale += [page.relative_to(ROOT)] if expected != current else []
    if args.check and stale:
        print(f"{', '.join(map(str, stale))}: out of date, run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
