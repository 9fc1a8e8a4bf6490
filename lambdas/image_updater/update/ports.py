"""What check, create and poll need from AppStream's images and from the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypedDict, Unpack

from image_updater.models import ImageSummary
from image_updater.update.reports import ReportRecord


class NewImage(TypedDict):
    """What the updater gives each image it builds, beside its name (see `domain/naming.py`)."""

    description: str
    display_name: str
    tags: Mapping[str, str]


class ImagesPort(Protocol):
    def describe(self, name: str) -> ImageSummary: ...
    def tags(self, arn: str) -> dict[str, str]: ...
    def lineage_members(self, root: str) -> list[ImageSummary]: ...
    def updates_in_progress(self, roots: Sequence[str]) -> list[str]: ...
    def can_update(self, source: str, new_name: str) -> bool: ...

    def start_update(
        self, source: str, new_name: str, **image: Unpack[NewImage]
    ) -> ImageSummary: ...


class LedgerPort(Protocol):
    def acquire_lineage(self, root: str, owner: str, now: datetime) -> bool: ...
    def release_lineage(self, root: str, owner: str) -> None: ...
    def expect_report(self, root: str, image: str, now: datetime) -> None: ...
    def report_records(self, root: str) -> dict[str, ReportRecord]: ...
    def claim_report(self, root: str, image: str, claimer: str, now: datetime) -> bool: ...
