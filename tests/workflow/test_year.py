"""A year unattended (rehearsal/year/): 52 weekly scheduled runs of the synthesized workflow
against one simulated account with AppStream's default quotas. The year runs once, in one test
(so one test worker simulates it); each promise is checked against what happened, computed from
the simulation's own record (its calls, images and deletions), not from the rehearsal's summary,
and every broken promise is reported, not only the first."""

from __future__ import annotations

import contextlib
import io
import itertools
from datetime import timedelta

import pytest

from image_updater.domain import naming
from rehearsal import docs
from rehearsal import year as rehearsal_year
from rehearsal.runner import WorkflowRunner
from rehearsal.year import (
    FAILING_MONTH,
    OTHER_IMAGES,
    ROOT,
    Year,
    simulate_year,
)

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def year() -> Year:
    return simulate_year(WorkflowRunner(rehearsal_year.CONTEXT))


def test_a_year_unattended_keeps_its_promises(year: Year) -> None:
    broken = []
    for promise in PROMISES:
        try:
            promise(year)
        except AssertionError as error:
            broken.append(f"{promise.__name__}: {error}")
    assert not broken, "\n\n".join(broken)


def _successful_creates(year: Year) -> list[tuple[str, str]]:
    """(new image, source) of every update AppStream accepted, in order."""
    return [
        (str(c.params["newImageName"]), str(c.params["existingImageName"]))
        for c in year.sim.calls
        if c.operation == "CreateUpdatedImage" and not c.params.get("dryRun") and c.error is None
    ]


def every_patch_release_gives_exactly_one_new_image(year: Year) -> None:
    # Given the year's twelve patch releases
    assert len(year.releases) == 12
    ready = [
        (week.fired, name)
        for week in year.weeks
        for name, state in week.outcomes.items()
        if state == "AVAILABLE"
    ]
    # Then between one release and the next, exactly one new image became ready
    windows = [*year.releases, year.weeks[-1].fired + timedelta(seconds=1)]
    for start, end in itertools.pairwise(windows):
        in_window = [name for fired, name in ready if start < fired <= end]
        assert len(in_window) == 1, (start, in_window)
    # and every update AppStream accepted was of the lineage's newest image, named as its own
    creates = _successful_creates(year)
    assert all(naming.is_derived_name(ROOT, new) for new, _ in creates)
    assert not {source for _, source in creates} & set(OTHER_IMAGES)
    # and only the failing month's attempts ended FAILED (three, until the breaker paused)
    failed = [
        (week.fired, name)
        for week in year.weeks
        for name, state in week.outcomes.items()
        if state == "FAILED"
    ]
    assert [fired.month for fired, _ in failed] == [FAILING_MONTH] * 3
    assert len(creates) == 12 + 3


def the_images_quota_is_never_reached(year: Year) -> None:
    # Then AppStream never refused a create for a quota
    refusals = [c for c in year.sim.calls if c.error == "LimitExceededException"]
    assert refusals == []
    # and the account never held more images than its quota, at any step of any run
    assert max(week.peak_images for week in year.weeks) <= year.image_quota
    # and at the end the lineage holds its newest keepImages (2) images, and any a fleet uses
    lineage = {
        name
        for name, image in year.sim.images.items()
        if naming.is_derived_name(ROOT, name) and image["State"] == "AVAILABLE"
    }
    newest_two = set(sorted(lineage)[-2:])  # names sort by creation time
    last_retention = next(week.kept for week in reversed(year.runs) if week.kept)
    for name in lineage - newest_two:
        assert last_retention[name].startswith("in use by fleet"), name


def no_protected_image_is_ever_deleted(year: Year) -> None:
    deletions = [c for c in year.sim.calls if c.operation == "DeleteImage"]
    # Then images were deleted (retention works), and AppStream refused none of the deletions
    assert deletions
    assert [c for c in deletions if c.error] == []
    # and only the updater's own images of the lineage, each older than a day when deleted
    created_at = {
        str(c.params["newImageName"]): c.timestamp
        for c in year.sim.calls
        if c.operation == "CreateUpdatedImage" and not c.params.get("dryRun") and c.error is None
    }
    for call in deletions:
        name = str(call.params["Name"])
        assert naming.is_derived_name(ROOT, name), name
        assert call.timestamp - created_at[name] >= timedelta(days=1), name
    # and the configured image, the other images and every fleet's image are still there
    assert {ROOT, *OTHER_IMAGES} <= set(year.sim.images)
    for fleet in year.sim.fleets.values():
        assert fleet["ImageName"] in year.sim.images


def every_failure_is_e_mailed(year: Year) -> None:
    failed_runs = [week for week in year.scheduled_runs if week.status == "FAILED"]
    # Then each failed run e-mailed its failure, with the reason AppStream gave
    assert len(failed_runs) == 3
    for week in failed_runs:
        assert week.execution is not None
        (failure,) = [e for e in week.execution.emails if e.attributes.get("outcome") == "FAILED"]
        assert failure.subject == f"AppStream image update FAILED: {ROOT}"
        assert rehearsal_year.FAILURE_REASON in failure.body
    # and no run failed without an e-mail saying so
    for week in year.runs:
        assert week.execution is not None
        outcomes = {e.attributes.get("outcome") for e in week.execution.emails}
        assert (week.status == "FAILED") == ("FAILED" in outcomes), week.fired


def the_breaker_trips_exactly_once_and_the_year_ends_healthy(year: Year) -> None:
    paused_runs = [week for week in year.runs if "Schedule Paused" in week.events]
    # Then exactly one run paused the schedule, with one e-mail
    assert len(paused_runs) == 1
    subjects = [subject for week in year.weeks for subject in week.emails]
    assert len([s for s in subjects if "PAUSED" in s]) == 1
    # and while it was paused no run started; after the resume runs went on
    assert year.paused_at is not None and year.resumed_at is not None
    skipped = [week.fired for week in year.weeks if week.status == "PAUSED"]
    assert skipped and all(year.paused_at < fired < year.resumed_at for fired in skipped)
    assert sum("Schedule Resumed" in week.events for week in year.weeks) == 1
    # and the year ends healthy: schedule on, count at zero, last runs successful
    assert year.schedule_state == "ENABLED"
    assert year.breaker_count == 0
    assert [week.status for week in year.runs[-4:]] == ["SUCCEEDED"] * 4
    # (the admin's run after the fix built the failing month's image; the breaker ignores it)
    (by_hand,) = [week for week in year.runs if week.started_by == "hand"]
    assert by_hand.status == "SUCCEEDED" and list(by_hand.outcomes.values()) == ["AVAILABLE"]
    assert year.sim.updates_in_progress() == []


def the_rehearsal_prints_the_year_month_by_month(year: Year) -> None:
    # When the year is printed as `make rehearse ARGS=year` prints it
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rehearsal_year.print_year(year, seconds=1.0)
    text = out.getvalue()
    # Then there is a row per month, the happenings, the totals and the cost
    rows = [line for line in text.splitlines() if line[:5] == "2027-"]
    assert len(rows) == 12
    assert "in use by fleet Sales-Prod" in text
    for total in ("AppStream calls:", "Lambda invocations:", "State transitions:", "Total"):
        assert total in text
    assert "the admin fixed the cause and ran run-now --resume-schedule" in text


def the_readme_shows_this_year(year: Year) -> None:
    # Given the docs page's copy of `make rehearse ARGS=year` (written by `make docs`)
    shown = docs.section(docs.YEAR_PAGE.read_text(), "year-report")
    # Then it is this year, as the rehearsal prints it
    assert shown == f"```text\n{rehearsal_year.report(year)}\n```", "run `make docs`"


PROMISES = (
    every_patch_release_gives_exactly_one_new_image,
    the_images_quota_is_never_reached,
    no_protected_image_is_ever_deleted,
    every_failure_is_e_mailed,
    the_breaker_trips_exactly_once_and_the_year_ends_healthy,
    the_rehearsal_prints_the_year_month_by_month,
    the_readme_shows_this_year,
)
