"""Simulated time: Wait states and Retry intervals advance it instead of sleeping, each image
on a timeline (lane) of its own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any


class SimulatedClock:
    """Simulated time that Wait states and retries advance instead of sleeping.

    Each image has a timeline of its own (a lane), as its Map iteration waits independently
    of the others; the run's own steps use the "run" lane. A thread works in the lane of the
    image it last handled.
    """

    RUN_LANE = "run"

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC).replace(microsecond=0)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._offsets: dict[str, float] = {}

    def use_lane(self, lane: str | None) -> None:
        self._local.lane = lane or self.RUN_LANE

    def start_lane(self, lane: str, after: str | None) -> None:
        """An image's timeline begins where the one before it in the same Map slot ended
        (`after`), or where the run stands: with `maxConcurrentUpdates` slots, an image
        that waited for a free slot starts when the image before it finished."""
        with self._lock:
            self._offsets[lane] = self._offsets.get(after or self.RUN_LANE, 0.0)

    def join_lanes(self) -> None:
        """The run's own lane continues where its longest image lane ended: a step of the run
        itself (after the Map) starts once every image is done."""
        with self._lock:
            self._offsets[self.RUN_LANE] = max(self._offsets.values(), default=0.0)

    def _lane(self) -> str:
        return getattr(self._local, "lane", self.RUN_LANE)

    def now(self) -> datetime:
        with self._lock:
            return self.start + timedelta(seconds=self._offsets.get(self._lane(), 0.0))

    def elapsed(self) -> timedelta:
        with self._lock:
            return timedelta(seconds=max(self._offsets.values(), default=0.0))

    def advance(self, seconds: float) -> None:
        with self._lock:
            lane = self._lane()
            self._offsets[lane] = self._offsets.get(lane, 0.0) + seconds


def image_of(state: Any) -> str | None:
    """The image a state's input or a Lambda event is about, if any."""
    if isinstance(state, dict):
        task = state.get("task", state)
        if isinstance(task, dict) and isinstance(task.get("rootImageName"), str):
            return str(task["rootImageName"])
    return None
