"""The retention e-mail's lines for shares removed and for each copy Region."""

from __future__ import annotations

from image_updater.retention.report import region_lines
from image_updater.update.messages.parts import retention
from image_updater.update.task import UpdateTask

A = "111122223333"
UNREAD = f"shared with account {A}, which could not be read: AccessDenied"


def test_each_region_says_what_was_deleted_unshared_kept_or_why_it_did_not_run() -> None:
    lines = region_lines(
        {
            "deleted": [],
            "kept": [],
            "unshared": [{"name": "Base-1", "accountId": A}],
            "regions": [
                {
                    "region": "eu-west-1",
                    "deleted": ["Base-0"],
                    "kept": [
                        {
                            "name": "Base-2",
                            "reason": UNREAD,
                        }
                    ],
                    "unshared": [],
                },
                {"region": "ap-northeast-1", "error": "AppStreamBusy: throttled"},
            ],
        }
    )
    assert lines == [
        "Unshared (the account was read and neither runs it nor records it as a rollback "
        f"target): Base-1 from {A}",
        "Copies in eu-west-1: deleted Base-0; kept although beyond keepImages:\n"
        f"  - Base-2: {UNREAD}",
        "Copies in ap-northeast-1: retention did not run (AppStreamBusy: throttled). Nothing "
        "was deleted or unshared there; the next update that settles tries again.",
    ]


def test_the_update_email_carries_them_only_with_distribution() -> None:
    task = {"rootImageName": "Base", "executionId": "x", "startedAt": "2026-01-01T00:00:00Z"}
    plain = UpdateTask.from_event({**task, "retention": {"deleted": ["Base-0"], "kept": []}})
    everywhere = UpdateTask.from_event(
        {**task, "retention": {"deleted": [], "kept": [], "regions": [{"region": "eu-west-1"}]}}
    )
    assert "Copies in" not in retention(plain)
    assert retention(everywhere) == "Copies in eu-west-1: nothing to do"
