"""Following a run: each image's progress, read from the execution's history, shown as a
live table on a terminal or as plain lines anywhere else."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO, Any

from infra.workflow import states

_IMAGE_STEPS = {
    states.CHECK: "checking for updates",
    states.ALREADY_UP_TO_DATE: "up to date",
    states.DRY_RUN_REPORT_ONLY: "checked (dry run)",
    states.DRY_RUN_KEEP_THE_ERROR: "could not check (dry run)",
    states.CREATE: "starting the update",
    states.WAIT: "waiting for the build",
    states.POLL: "checking the build",
    states.REPORTED_BY_ANOTHER_RUN: "reported by another run",
    states.WRITE_THE_EMAIL: "writing the e-mail",
    states.SEND_THE_EMAIL: "sending the e-mail",
}


@dataclass
class ImageProgress:
    image: str
    step: str = "queued"
    polls: int = 0
    state: str | None = None
    outcome: str | None = None
    new_image: str | None = None

    def line(self, elapsed: str) -> str:
        details = [self.step]
        if self.state:
            details.append(f"image {self.state}")
        if self.polls:
            details.append(f"{self.polls} status check{'s' if self.polls > 1 else ''}")
        if self.new_image:
            details.append(self.new_image)
        return f"{elapsed}  {self.image:<24} {', '.join(details)}"


@dataclass
class Progress:
    """Per-image progress, read from the execution's history."""

    images: dict[str, ImageProgress]
    seen_events: int = 0
    # (when, image, what it looked like then) for every change in the latest events
    changes: list[tuple[datetime, str, ImageProgress]] = field(default_factory=list)
    _last: dict[str, ImageProgress] = field(default_factory=dict)

    def apply(self, events: list[dict[str, Any]]) -> None:
        self.changes = []
        for event in events[self.seen_events :]:
            entered = event.get("stateEnteredEventDetails")
            exited = event.get("stateExitedEventDetails")
            details = entered or exited
            if not details or details.get("name") not in _IMAGE_STEPS:
                continue
            data = json_object(details.get("input") if entered else details.get("output"))
            image = _image_of(data)
            if image not in self.images:
                continue
            progress = self.images[image]
            if entered:
                progress.step = _IMAGE_STEPS[details["name"]]
            else:
                progress.polls = int(data.get("polls") or progress.polls)
                progress.state = (data.get("image") or {}).get("state") or progress.state
                progress.new_image = data.get("newImageName") or progress.new_image
            # Entering and leaving a step often look the same: show only what changed.
            snapshot = replace(progress)
            if self._last.get(image) != snapshot:
                self._last[image] = snapshot
                self.changes.append((event["timestamp"], image, snapshot))
        self.seen_events = len(events)


def json_object(text: Any) -> dict[str, Any]:
    """`text` read as a JSON object; {} for anything else."""
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _image_of(data: dict[str, Any]) -> str | None:
    name = data.get("rootImageName")
    return name if isinstance(name, str) else None


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


class Display:
    """A live table on a terminal; plain lines, one per change, anywhere else."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.live = out.isatty()
        self._drawn = 0

    def show(self, progress: Progress, started: datetime, now: datetime) -> None:
        if self.live:
            if self._drawn:
                self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            lines = [p.line(_elapsed(started, now)) for p in progress.images.values()]
            self.out.write("\n".join(lines) + "\n")
            self._drawn = len(lines)
        else:
            for when, _, snapshot in progress.changes:
                self.out.write(snapshot.line(_elapsed(started, when)) + "\n")
        self.out.flush()


def _elapsed(started: datetime, now: datetime) -> str:
    seconds = int((now - started).total_seconds())
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def follow(
    sfn: Any,
    execution_arn: str,
    images: list[str] | None,
    out: IO[str],
    *,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Show progress until the execution ends; `images=None` takes them from its input."""
    progress: Progress | None = None
    display = Display(out)
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if progress is None:
            names = images if images is not None else _input_images(described)
            progress = Progress(images={name: ImageProgress(name) for name in names})
        events = _history(sfn, execution_arn)
        progress.apply(events)
        started = described["startDate"]
        now = described.get("stopDate") or datetime.now(UTC).astimezone(started.tzinfo)
        display.show(progress, started, now)
        if described["status"] != "RUNNING":
            described["events"] = events
            return dict(described)
        sleep(poll_seconds)


def _input_images(described: dict[str, Any]) -> list[str]:
    images = json_object(described.get("input")).get("images")
    return [i for i in images if isinstance(i, str)] if isinstance(images, list) else []
