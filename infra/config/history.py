"""The execution history quota: a run's status checks must fit Step Functions' event limit.

A cross-key rule (maxUpdateHours, pollIntervalMinutes, imageNames), checked once every key's
own rules pass (infra/config/declaration.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.config.declaration import UpdaterConfig


# Step Functions keeps at most 25,000 events in one execution's history; past that the run
# fails outright, without the per-image e-mails. Measured on the synthesized workflow: a
# status check is 9 events (Wait 2, Lambda task 5, Choice 2); everything else an image's
# branch does, with a margin for retries, stays under 150; the run's own steps under 50.
HISTORY_EVENTS_MAX = 25_000
EVENTS_PER_STATUS_CHECK = 9
EVENTS_PER_IMAGE = 150
EVENTS_PER_RUN = 50
# An image's roll-out to fleets (canary, soak, approval, window, production): 83 events measured
# on the whole path (`make rehearse ARGS=rollout`); the margin covers about 30 retries of its
# steps (about four events each). The soak, the approval and the window are single waits.
# (25 images at the default polling fit exactly: 25 x (72 x 9 + 150 + 200) + 50 = 25,000.)
EVENTS_PER_ROLLOUT = 200


def run_events(images: int, polls: int) -> int:
    """The most history events one run of `images` images, each checked up to `polls` times,
    can need (rehearsal/scale.py counts it at scale)."""
    per_image = EVENTS_PER_STATUS_CHECK * polls + EVENTS_PER_IMAGE + EVENTS_PER_ROLLOUT
    return EVENTS_PER_RUN + images * per_image


def history_events(config: UpdaterConfig) -> int:
    """The most history events one run of this configuration can need."""
    return run_events(len(config.image_names), config.max_polls)


def history_problems(config: UpdaterConfig) -> Iterator[str]:
    needed = history_events(config)
    if needed <= HISTORY_EVENTS_MAX:
        return
    images = len(config.image_names)
    yield (
        "maxUpdateHours, pollIntervalMinutes, imageNames: one run could need "
        f"{needed:,} history events, over Step Functions' limit of {HISTORY_EVENTS_MAX:,} "
        f"per execution ({images} image{'s' if images > 1 else ''} x "
        f"({config.max_polls} status checks (maxUpdateHours {config.max_update_hours} x 60 / "
        f"pollIntervalMinutes {config.poll_interval_minutes}) x {EVENTS_PER_STATUS_CHECK} "
        f"events + {EVENTS_PER_IMAGE + EVENTS_PER_ROLLOUT}) + {EVENTS_PER_RUN}); the run "
        "would fail without "
        "e-mailing its images. Check less often (raise pollIntervalMinutes), wait less "
        "(lower maxUpdateHours)."
    )
