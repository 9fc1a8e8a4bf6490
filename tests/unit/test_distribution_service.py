"""The distribution's service and policy over in-memory Regions (no AWS)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pytest

from image_updater.distribution import policy, service
from image_updater.distribution.models import (
    COPYING,
    NOT_OURS,
    RegionDistribution,
    ShareOutcome,
    ShareTarget,
)
from image_updater.domain import naming
from image_updater.models import AVAILABLE, FAILED, ImageSummary

ROOT, NAME = "Sales", "Sales-20260105-030000"
OURS = f"Sales with updates {naming.DESCRIPTION_MARKER}"
A, B = ShareTarget("111122223333", True, False), ShareTarget("444455556666", False, True)


@dataclass
class FakeRegion:
    """One Region's images in memory, doing what the adapter asks and recording it."""

    region: str
    images: dict[str, ImageSummary] = field(default_factory=dict)
    tagged: dict[str, dict[str, str]] = field(default_factory=dict)
    copied: list[tuple[str, str, str]] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)
    refuse_share: set[str] = field(default_factory=set)
    refuse_copy: bool = False

    def add(self, name: str, state: str = AVAILABLE, description: str | None = OURS) -> None:
        arn = f"arn:aws:appstream:{self.region}:123456789012:image/{name}"
        self.images[name] = ImageSummary(name, arn, state, description=description)

    def find(self, name: str) -> ImageSummary | None:
        return self.images.get(name)

    def tags(self, arn: str) -> dict[str, str]:
        return dict(self.tagged.get(arn, {}))

    def copy(self, name: str, destination: str, description: str) -> None:
        if self.refuse_copy:
            raise service.CopyRefused("IncompatibleImageException: no")
        self.copied.append((name, destination, description))

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        self.tagged[arn] = {**self.tagged.get(arn, {}), **tags}

    def share(self, name: str, target: ShareTarget) -> None:
        if target.account_id in self.refuse_share:
            raise service.ShareRefused("LimitExceededException: 100 accounts")
        self.shared.append(target.account_id)


def item(**changes: object) -> RegionDistribution:
    base = RegionDistribution(ROOT, NAME, "arn:exec", "eu-west-1", (A, B))
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def home() -> FakeRegion:
    region = FakeRegion("us-east-1")
    region.add(NAME)
    region.tagged[region.images[NAME].arn] = {
        naming.LINEAGE_ROOT_TAG: ROOT,
        naming.SOURCE_IMAGE_TAG: "Sales",
        "other": "kept at home",
    }
    return region


def test_a_copy_is_made_once_with_name_and_description(home: FakeRegion) -> None:
    europe = FakeRegion("eu-west-1")

    first = service.copy_to_region(item(), home, europe)
    europe.add(NAME, state=COPYING)  # what AppStream now lists
    again = service.copy_to_region(item(), home, europe)

    assert first.state == again.state == COPYING
    assert home.copied == [(NAME, "eu-west-1", OURS)]


@pytest.mark.parametrize(
    ("state", "description", "expected"),
    [(AVAILABLE, "someone else's", NOT_OURS), (FAILED, OURS, FAILED), (AVAILABLE, OURS, COPYING)],
)
def test_an_image_already_in_the_destination_decides(
    home: FakeRegion, state: str, description: str, expected: str
) -> None:
    europe = FakeRegion("eu-west-1")
    europe.add(NAME, state=state, description=description)

    result = service.copy_to_region(item(), home, europe)

    assert result.state == expected
    assert home.copied == []


def test_a_source_not_ready_or_refused_fails_the_region(home: FakeRegion) -> None:
    home.refuse_copy = True
    refused = service.copy_to_region(item(), home, FakeRegion("eu-west-1"))
    home.images[NAME] = home.images[NAME]._replace(state="PENDING")
    not_ready = service.copy_to_region(item(), home, FakeRegion("eu-west-1"))

    assert (refused.state, not_ready.state) == (FAILED, FAILED)
    assert "IncompatibleImageException" in (refused.reason or "")
    assert "PENDING" in (not_ready.reason or "")


def test_the_check_tags_an_available_copy_with_the_lineage_and_configured_tags(
    home: FakeRegion,
) -> None:
    europe = FakeRegion("eu-west-1")
    europe.add(NAME, state=COPYING)
    still = service.check_copy(item(state=COPYING), home, europe, {"team": "euc"})
    europe.add(NAME)
    done = service.check_copy(still, home, europe, {"team": "euc"})

    assert (still.state, still.polls, still.shared) == (COPYING, 1, ())
    assert done.state == AVAILABLE
    assert europe.tagged[europe.images[NAME].arn] == {
        "team": "euc",
        naming.LINEAGE_ROOT_TAG: ROOT,
        naming.SOURCE_IMAGE_TAG: "Sales",
    }


def test_the_check_reports_a_failed_vanished_or_foreign_copy(home: FakeRegion) -> None:
    europe = FakeRegion("eu-west-1")
    gone = service.check_copy(item(state=COPYING), home, europe, {})
    europe.add(NAME, state=FAILED)
    failed = service.check_copy(item(state=COPYING), home, europe, {})
    europe.add(NAME, description="hand-made")
    foreign = service.check_copy(item(state=COPYING), home, europe, {})

    assert (gone.state, failed.state, foreign.state) == (FAILED, FAILED, NOT_OURS)
    assert europe.tagged == {}


def test_one_refused_account_never_hides_the_others(home: FakeRegion) -> None:
    home.refuse_share = {A.account_id}

    result = service.share_in_region(item(region=None, state=AVAILABLE), home)

    assert result.shared == (
        ShareOutcome(A.account_id, False, "LimitExceededException: 100 accounts"),
        ShareOutcome(B.account_id, True),
    )
    assert home.shared == [B.account_id]


def test_no_share_where_there_is_no_copy(home: FakeRegion) -> None:
    europe = FakeRegion("eu-west-1")

    result = service.share_in_region(item(state=FAILED, reason="the copy failed"), europe)

    assert [s.shared for s in result.shared] == [False, False]
    assert "the copy failed" in (result.shared[0].reason or "")
    assert europe.shared == []


def test_policy_knows_our_copy_by_name_and_marker() -> None:
    image = ImageSummary(NAME, "arn", AVAILABLE, description=OURS)

    assert policy.is_our_copy(ROOT, image)
    assert not policy.is_our_copy(ROOT, image._replace(description="hand-made"))
    assert not policy.is_our_copy(ROOT, image._replace(description=None))
    assert not policy.is_our_copy(ROOT, image._replace(name="Sales-copy"))
    assert not policy.is_our_copy("Other", image)


def test_the_record_round_trips_through_the_workflow() -> None:
    record = item(state=AVAILABLE, polls=2, shared=(ShareOutcome(A.account_id, True),))

    assert RegionDistribution.from_event(record.to_event()) == record
