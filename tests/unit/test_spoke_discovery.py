"""The spoke's discovery rules, pure: which images shared with the account are the hub's new
images, and that each is claimed (rolled out) once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from image_updater.domain import naming
from image_updater.models import ImageSummary
from image_updater.spoke import discovery
from image_updater.spoke.discover import new_images

HUB = "111122223333"
STRANGER = "999988887777"
ROOT = "ImgA"
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def image(
    day: int,
    *,
    owner: str = HUB,
    state: str = "AVAILABLE",
    root: str = ROOT,
    description: str | None = None,
) -> dict[str, Any]:
    created = datetime(2026, 5, day, 3, 0, tzinfo=UTC)
    name = naming.derived_image_name(root, created)
    return {
        "Name": name,
        "Arn": f"arn:aws:appstream:us-east-1:{owner}:image/{name}",
        "State": state,
        "CreatedTime": created,
        "Description": description or naming.new_image_description(root, created),
    }


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        (f"arn:aws:appstream:us-east-1:{HUB}:image/ImgA", HUB),
        ("arn:aws:appstream:us-east-1::image/AppStream-WinServer2022", ""),
        (f"arn:aws-cn:appstream:cn-north-1:{HUB}:image/a:b", HUB),
        (f"arn:aws:s3:us-east-1:{HUB}:image/ImgA", None),
        ("ImgA", None),
    ],
)
def test_the_account_is_read_from_the_arn(arn: str, account: str | None) -> None:
    assert discovery.arn_account(arn) == account


def test_a_hub_member_is_named_described_and_owned_by_the_hub() -> None:
    assert discovery.is_hub_member(ROOT, image(3), HUB)
    # a look-alike: same name rule, same marker, another account's ARN
    assert not discovery.is_hub_member(ROOT, image(3, owner=STRANGER), HUB)
    # the hub's image without the marker (not built by the updater)
    assert not discovery.is_hub_member(ROOT, image(3, description="patched by hand"), HUB)
    # another lineage's image
    assert not discovery.is_hub_member(ROOT, image(3, root="ImgB"), HUB)
    # the root itself (not derived): the spoke rolls out only what the hub built
    root = {**image(3), "Name": ROOT, "Arn": f"arn:aws:appstream:us-east-1:{HUB}:image/{ROOT}"}
    assert not discovery.is_hub_member(ROOT, root, HUB)


def test_the_newest_available_hub_image_is_the_candidate() -> None:
    older, newest = image(3), image(5)
    found = discovery.newest_candidates(
        [ROOT, "ImgB"],
        [
            older,
            newest,
            image(7, state="PENDING"),  # newer, not AVAILABLE yet
            image(8, state="FAILED"),
            image(9, owner=STRANGER),  # newer, the stranger's
        ],
        HUB,
    )
    assert list(found) == [ROOT]  # ImgB has no image: left out
    assert found[ROOT].name == newest["Name"]
    assert found[ROOT].arn == newest["Arn"]


def test_no_candidate_when_only_strangers_share_look_alikes() -> None:
    assert discovery.newest_candidates([ROOT], [image(9, owner=STRANGER)], HUB) == {}


class FakeImages:
    def __init__(self, newest: dict[str, ImageSummary]) -> None:
        self._newest = newest

    def newest(self, roots: tuple[str, ...]) -> dict[str, ImageSummary]:
        return {root: found for root, found in self._newest.items() if root in roots}


class FakeClaims:
    """The ledger's conditional write: first claimer wins; the same execution again too."""

    def __init__(self) -> None:
        self.claims: dict[str, str] = {}

    def claim(self, image_arn: str, root: str, execution_id: str, at: str) -> bool:
        return self.claims.setdefault(image_arn, execution_id) == execution_id


def summary(raw: dict[str, Any]) -> ImageSummary:
    return ImageSummary.from_appstream(raw)


def test_an_image_already_claimed_is_not_started_again() -> None:
    images = FakeImages({ROOT: summary(image(5))})
    claims = FakeClaims()
    first = new_images([ROOT], images, claims, execution_id="run-1", now=NOW)
    assert [r["newImageName"] for r in first] == [image(5)["Name"]]
    assert first[0]["outcome"] == "SUCCEEDED" and first[0]["image"] == ROOT
    # a later run (or one overlapping) gets nothing; the same run retried gets its own again
    assert new_images([ROOT], images, claims, execution_id="run-2", now=NOW) == []
    assert new_images([ROOT], images, claims, execution_id="run-1", now=NOW) == first


def test_a_newer_image_is_claimed_even_after_an_older_one() -> None:
    claims = FakeClaims()
    new_images([ROOT], FakeImages({ROOT: summary(image(5))}), claims, execution_id="a", now=NOW)
    later = new_images(
        [ROOT], FakeImages({ROOT: summary(image(6))}), claims, execution_id="b", now=NOW
    )
    assert [r["newImageName"] for r in later] == [image(6)["Name"]]
