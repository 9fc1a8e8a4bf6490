"""Retention of shared images and of copies: a share is removed only from an account that was
read and no longer uses the image, and the image is deleted only once no share remains
(removing a share sets that account's fleets on the image to desired capacity 0)."""

from __future__ import annotations

import pytest

from image_updater.domain import naming
from image_updater.models import ImageSummary
from image_updater.retention.policy import NOT_READ, ConsumerUse, plan_retention, protection
from image_updater.retention.service import retire_old_images
from tests.unit.test_retention_policy import NOW, ROOT, FakeUsers, member

A, B = "111122223333", "444455556666"


def test_an_image_no_reading_account_uses_is_unshared_from_each_and_deleted() -> None:
    # Given an old image shared with two accounts, both read, neither using it
    old = member(30, shared_with=(A, B), consumers=(ConsumerUse(A), ConsumerUse(B)))

    # When
    plan = plan_retention(ROOT, [member(10), old], keep=1, now=NOW)

    # Then both shares go, then the image
    (decision,) = plan.decisions
    assert decision.unshare == (A, B)
    assert decision.delete is True


@pytest.mark.parametrize(
    ("use", "reason"),
    [
        (
            ConsumerUse(A, unreadable="AccessDenied: not authorized"),
            f"{A}, which could not be read",
        ),
        (ConsumerUse(A, fleets=("Prod",)), f"{A}, which runs it on fleet Prod"),
        (ConsumerUse(A, rollback_for=("Canary",)), f"{A}, which records it as the rollback target"),
        (ConsumerUse(A, image_builders=("B1",)), f"{A}, which started image builder B1 from it"),
    ],
    ids=["unreadable", "fleet", "rollback-record", "image-builder"],
)
def test_an_account_that_uses_it_or_cannot_be_read_keeps_its_share_and_the_image(
    use: ConsumerUse, reason: str
) -> None:
    # Given an old image shared with A (as `use` says) and with B (read, unused)
    old = member(30, shared_with=(A, B), consumers=(use, ConsumerUse(B)))

    # When
    (decision,) = plan_retention(ROOT, [member(10), old], keep=1, now=NOW).decisions

    # Then A keeps its share (and the image stays); only B, who no longer uses it, is unshared
    assert decision.delete is False
    assert decision.unshare == (B,)
    assert decision.reason.startswith(f"shared with account {reason}")
    assert "AccessDenied: not authorized" in decision.reason or use.unreadable is None


def test_an_account_with_no_reading_is_never_unshared() -> None:
    # Given an old image shared with an account the updater did not read (not configured)
    old = member(30, shared_with=(A,))

    # When
    (decision,) = plan_retention(ROOT, [member(10), old], keep=1, now=NOW).decisions

    # Then the share and the image stay, and the e-mail says why
    assert (decision.delete, decision.unshare) == (False, ())
    assert decision.reason == f"shared with account {A}, which could not be read: {NOT_READ}"


def test_the_newest_keep_images_are_never_unshared() -> None:
    # Given the newest image shared with an account that does not use it
    newest = member(10, shared_with=(A,), consumers=(ConsumerUse(A),))

    # When
    plan = plan_retention(ROOT, [newest, member(20)], keep=1, now=NOW)

    # Then it is neither unshared nor decided on
    assert [d.name for d in plan.decisions] == [member(20).image.name]
    assert all(d.unshare == () for d in plan.decisions)


@pytest.mark.parametrize(
    "protected",
    [
        {"fleets": ("HubFleet",)},
        {"rollback_for": ("HubFleet",)},
        {"image_builders": ("Builder",)},
        {"source_of_update": "Base-20260601-030000"},
        {"kept_at_home": True},
    ],
    ids=["hub-fleet", "hub-rollback", "builder", "update-source", "kept-at-home"],
)
def test_an_image_another_rule_protects_is_not_unshared(protected: dict[str, object]) -> None:
    # Given an old image nobody it is shared with uses, but protected in the hub
    old = member(30, shared_with=(A,), consumers=(ConsumerUse(A),), **protected)

    # When
    (decision,) = plan_retention(ROOT, [member(10), old], keep=1, now=NOW).decisions

    # Then its shares stay: unsharing would gain nothing and strand nobody's choice
    assert (decision.delete, decision.unshare) == (False, ())


def test_a_young_shared_image_is_not_unshared() -> None:
    # Given a shared image created an hour ago, older ones kept
    old = member(0, shared_with=(A,), consumers=(ConsumerUse(A),))

    # When
    (decision,) = plan_retention(ROOT, [member(-1), old], keep=1, now=NOW).decisions

    # Then
    assert (decision.delete, decision.unshare) == (False, ())


def test_a_copy_whose_image_the_hub_keeps_is_kept() -> None:
    # Given a copy, old, unused, whose image the hub's Region still keeps
    copy = member(30, kept_at_home=True)

    # When / Then
    assert protection(copy, ROOT, NOW) == (
        "the hub's Region keeps this image among its newest (keepImages)"
    )
    assert plan_retention(ROOT, [member(10), copy], keep=1, now=NOW).to_delete == []


# --- the service, over fakes -------------------------------------------------------------------


class SharedLineage:
    """RetentionPort and SharesPort: images with their shares, and what each account reports."""

    def __init__(self, images: list[ImageSummary], shares: dict[str, list[str]]) -> None:
        self.images = images
        self.shares = shares
        self.reports: dict[str, ConsumerUse] = {}
        self.deleted: list[str] = []
        self.unshared: list[tuple[str, str]] = []
        self.refuse_unshare = False

    def describe(self, name: str) -> ImageSummary:
        return next(i for i in self.images if i.name == name)

    def tags(self, arn: str) -> dict[str, str]:
        return {naming.LINEAGE_ROOT_TAG: ROOT}

    def lineage_members(self, root: str) -> list[ImageSummary]:
        return [i for i in self.images if i.name not in self.deleted]

    def shared_with(self, name: str) -> list[str]:
        return list(self.shares.get(name, []))

    def delete(self, name: str) -> None:
        assert not self.shares.get(name), "AppStream refuses to delete a shared image"
        self.deleted.append(name)

    def use(self, account: str, image: ImageSummary) -> ConsumerUse:
        return self.reports.get(account, ConsumerUse(account, unreadable="no reader role"))

    def unshare(self, name: str, account: str) -> None:
        if self.refuse_unshare:
            raise RuntimeError("throttled")
        self.shares[name].remove(account)
        self.unshared.append((name, account))


def lineage_shared_with_both() -> tuple[SharedLineage, ImageSummary]:
    newest, old = member(10).image, member(30).image
    return SharedLineage([newest, old], {old.name: [A, B], newest.name: [A, B]}), old


def test_an_unreadable_account_keeps_the_image_and_the_result_says_why() -> None:
    # Given B cannot be read (its reader role is missing), A reads and does not use the image
    port, old = lineage_shared_with_both()
    port.reports = {A: ConsumerUse(A)}

    # When
    result = retire_old_images(ROOT, port, FakeUsers({}), keep=1, now=NOW, shares=port)

    # Then only A is unshared, nothing is deleted, and the reason names B and why
    assert port.unshared == [(old.name, A)] and result.unshared == ((old.name, A),)
    assert port.deleted == []
    (kept,) = result.kept
    assert kept[0] == old.name and f"{B}, which could not be read: no reader role" in kept[1]


def test_an_account_using_the_image_keeps_it() -> None:
    # Given A runs the old image on a fleet, B does not
    port, old = lineage_shared_with_both()
    port.reports = {A: ConsumerUse(A, fleets=("Prod",)), B: ConsumerUse(B)}

    # When
    retire_old_images(ROOT, port, FakeUsers({}), keep=1, now=NOW, shares=port)

    # Then
    assert port.unshared == [(old.name, B)] and port.deleted == []
    assert port.shares[old.name] == [A]


def test_all_readable_and_unused_is_unshared_then_deleted_and_the_newest_untouched() -> None:
    # Given both accounts read, neither uses the old image
    port, old = lineage_shared_with_both()
    port.reports = {A: ConsumerUse(A), B: ConsumerUse(B)}

    # When
    result = retire_old_images(ROOT, port, FakeUsers({}), keep=1, now=NOW, shares=port)

    # Then the old image is unshared from both, then deleted; the newest keeps its shares
    assert port.unshared == [(old.name, A), (old.name, B)]
    assert port.deleted == [old.name] and result.deleted == (old.name,)
    assert port.shares[member(10).image.name] == [A, B]


def test_a_refused_unshare_keeps_the_image_for_the_next_run() -> None:
    # Given both accounts done with it, but DeleteImagePermissions fails
    port, old = lineage_shared_with_both()
    port.reports = {A: ConsumerUse(A), B: ConsumerUse(B)}
    port.refuse_unshare = True

    # When
    result = retire_old_images(ROOT, port, FakeUsers({}), keep=1, now=NOW, shares=port)

    # Then nothing is deleted and the reason says which share could not be removed
    assert port.deleted == []
    assert result.kept == (
        (old.name, f"removing its share with {A} failed (RuntimeError: throttled)"),
    )


def test_without_readers_no_share_is_removed() -> None:
    # Given no way to read the accounts (shares=None: a hub that shares with nobody it knows)
    port, _old = lineage_shared_with_both()

    # When
    result = retire_old_images(ROOT, port, FakeUsers({}), keep=1, now=NOW)

    # Then
    assert port.unshared == [] and port.deleted == []
    assert result.kept[0][1].startswith(f"shared with account {A}, which could not be read")
