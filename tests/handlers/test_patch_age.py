"""PatchAgeDays: the check handler measures the lineage's newest image on every run that
checks for updates, one data point per lineage, with the lineage as its only extra dimension."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from image_updater.domain import naming
from image_updater.handlers import check
from image_updater.observability import NAMESPACE, SERVICE
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import (
    ROOT,
    START,
    LambdaContext,
    lineage_tags,
    new_task,
    reported,
)


def points(stdout: str, metric: str) -> list[tuple[dict[str, Any], float]]:
    """Each data point of `metric` printed (embedded metric format): its dimensions, value."""
    found = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            if metric in [m["Name"] for m in directive["Metrics"]]:
                assert directive["Namespace"] == NAMESPACE
                (dimensions,) = directive["Dimensions"]
                (value,) = record[metric]
                found.append(({d: record[d] for d in dimensions}, value))
    return found


def patch_age_points(stdout: str) -> list[tuple[dict[str, Any], float]]:
    return points(stdout, "PatchAgeDays")


def per_lineage_and_oldest(root: str, age: float) -> list[tuple[dict[str, Any], float]]:
    """The lineage's point (the dashboard) and the same without the lineage (the alarm's)."""
    return [({"service": SERVICE, "Lineage": root}, age), ({"service": SERVICE}, age)]


def test_the_configured_image_s_age_counts_from_its_base_image_release(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the root, created 90 days ago from a base image released 40 days before the run
    # (the release date, not the creation, says how old its patches are)
    sim.add_image(
        ROOT,
        created_time=START - timedelta(days=90),
        base_image_released=START - timedelta(days=40, hours=3),
    )

    # When
    result = check.handler(new_task(), lambda_context)

    # Then
    assert result["action"] == "UPDATE"
    assert patch_age_points(capsys.readouterr().out) == per_lineage_and_oldest(ROOT, 40)


def test_an_image_the_updater_built_counts_from_its_creation(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the root and an image the updater built from it 9 days ago, whose base image
    # release date the managed update left where it was (70 days ago)
    released = START - timedelta(days=70)
    sim.add_image(ROOT, created_time=START - timedelta(days=90), base_image_released=released)
    built = START - timedelta(days=9, hours=1)
    name = naming.derived_image_name(ROOT, built)
    sim.add_image(
        name,
        created_time=built,
        base_image_released=released,
        description=naming.new_image_description(ROOT, built),
        tags=lineage_tags(),
        updates_available=False,
    )
    reported(name)

    # When
    result = check.handler(new_task(), lambda_context)

    # Then the newest image is the built one, and its patches are 9 days old
    assert result["action"] == "NO_UPDATE"
    assert patch_age_points(capsys.readouterr().out) == per_lineage_and_oldest(ROOT, 9)


def test_no_release_date_no_data_point(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a root whose DescribeImages gives no PublicBaseImageReleasedDate
    sim.add_image(ROOT, created_time=START - timedelta(days=90))

    # When
    check.handler(new_task(), lambda_context)

    # Then nothing is guessed
    assert patch_age_points(capsys.readouterr().out) == []


def test_the_account_s_images_are_counted_from_the_listing_the_lineage_came_from(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the root and two images of other teams (what the images quota counts: all three)
    sim.add_image(ROOT, created_time=START - timedelta(days=90))
    sim.add_image("Finance", created_time=START - timedelta(days=30))
    sim.add_image("Design", created_time=START - timedelta(days=20))

    # When
    check.handler(new_task(), lambda_context)

    # Then the count is one data point, without any lineage, and cost no extra listing
    assert points(capsys.readouterr().out, "PrivateImages") == [({"service": SERVICE}, 3)]
    listings = [
        call for call in sim.calls if call.operation == "DescribeImages" and "Type" in call.params
    ]
    assert len(listings) == 1


def test_nothing_is_printed_with_metrics_disabled(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given metrics turned off, as offline runs (rehearsal) turn them off
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    sim.add_image(ROOT, created_time=START - timedelta(days=90), base_image_released=START)

    # When
    check.handler(new_task(), lambda_context)

    # Then not even the per-lineage point (Powertools' single_metric prints regardless)
    assert patch_age_points(capsys.readouterr().out) == []
