"""The design at scale, on paper: copies, shares, history events, invocations, state
transitions, events and their cost for a patch cycle of `images` images, distributed from a
hub to `regions` Regions (its own included) and `accounts` accounts, each copy taking
`copy_minutes`. Computed from the code's own constants, and checked against the executions of
`make rehearse ARGS=organisation` (tests/workflow/test_organisation_rehearsal.py).

`python -m rehearsal.scale` prints the figures for 100 accounts x 10 Regions x 25 images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.config.distribution import (
    COPY_CHECK_MINUTES,
    COPY_CHECKS,
    EVENTS_PER_CHILD_EXECUTION,
    SHARED_ACCOUNTS_MAX,
    image_distribution_events,
)
from infra.config.history import HISTORY_EVENTS_MAX, run_events
from infra.workflow.distribution import COPIES_PER_DESTINATION

# Prices (us-east-1, 2026): Step Functions Standard per state transition; Lambda per request
# and per GB-second (Arm), the functions having 256 MB.
PRICE_PER_TRANSITION = 0.025 / 1000
PRICE_PER_INVOCATION = 0.20 / 1_000_000
PRICE_PER_GB_SECOND = 0.0000133334
FUNCTION_GB = 0.25
# States one child execution enters besides its Regions' (measured in the rehearsal): read the
# roll-out's result, has a new image?, read the new image, new image to distribute?, plan, the
# Regions' Map, write and send the e-mail, mark it sent, result (10); the home Region's: copy
# needed?, share, Region done (3).
CHILD_STATES = 10
HOME_REGION_STATES = 3
# A copy Region: copy needed?, copy, still copying?, share, Region done (5), and 3 per check
# (wait, check, still copying?).
COPY_REGION_STATES = 5
STATES_PER_COPY_CHECK = 3
# The run's own Map over the images: its start and end (2), and per image the iteration (2)
# and the startExecution.sync:2 task (6), measured.
RUN_MAP_EVENTS = 2
RUN_EVENTS_PER_IMAGE = 8


def copy_checks(copy_minutes: int) -> int:
    """The checks of one copy: every COPY_CHECK_MINUTES until it is done, at most COPY_CHECKS."""
    return min(COPY_CHECKS, math.ceil(copy_minutes / COPY_CHECK_MINUTES))


def child_states(copy_regions: int, checks: int) -> int:
    """States one image's child execution enters (each a billed transition), without retries,
    when its copies were checked `checks` times in all."""
    copies = copy_regions * COPY_REGION_STATES + STATES_PER_COPY_CHECK * checks
    return CHILD_STATES + HOME_REGION_STATES + copies


def child_invocations(copy_regions: int, checks: int) -> int:
    """Lambda invocations of one image's distribution: share at home, per copy Region copy
    and share, the copies' `checks`, then the e-mail's report."""
    return 1 + copy_regions * 2 + checks + 1


@dataclass(frozen=True)
class AtScale:
    accounts: int
    regions: int  # the hub's own included
    images: int
    copy_minutes: int

    @property
    def copy_regions(self) -> int:
        return self.regions - 1

    def lines(self, polls: int = 72) -> list[str]:
        copies = self.images * self.copy_regions
        waves = math.ceil(self.images / COPIES_PER_DESTINATION)
        hours = waves * (self.copy_minutes + COPY_CHECK_MINUTES) / 60
        run_update = run_events(self.images, polls)
        run_allowed = run_update + self.images * EVENTS_PER_CHILD_EXECUTION
        run_measured = RUN_MAP_EVENTS + self.images * RUN_EVENTS_PER_IMAGE
        child = image_distribution_events(self.copy_regions)
        checks = self.copy_regions * copy_checks(self.copy_minutes)
        # Per image its child's and the run's task starting it; per run the Map and the step
        # recording what the run distributes (one invocation).
        states = self.images * (child_states(self.copy_regions, checks) + 1) + 2
        invocations = self.images * child_invocations(self.copy_regions, checks) + 1
        lambda_cost = invocations * PRICE_PER_INVOCATION + invocations * FUNCTION_GB * (
            PRICE_PER_GB_SECOND
        )
        shares = self.images * self.regions * self.accounts
        spokes = self.accounts * self.regions
        return [
            f"{self.accounts} accounts x {self.regions} Regions x {self.images} images, "
            f"copies taking {self.copy_minutes} min:",
            f"  copies per cycle: {copies} ({self.images} x {self.copy_regions}); in flight per "
            f"destination Region: at most {COPIES_PER_DESTINATION} (the quota: 2)",
            f"  distribution takes about {waves} waves x (copy time + up to "
            f"{COPY_CHECK_MINUTES} min): {hours:.1f} h",
            f"  shares per image and Region: {self.accounts} (limit {SHARED_ACCOUNTS_MAX}); "
            f"UpdateImagePermissions calls per cycle: {shares:,}",
            f"  history, the run: the synth allows {run_allowed:,} (update and roll-out "
            f"{run_update:,} + {EVENTS_PER_CHILD_EXECUTION} per image) against "
            f"{HISTORY_EVENTS_MAX:,}; distribution measured {run_measured} of it",
            f"  history, each image's child: at most {child:,} (80 + {self.copy_regions} x 380)",
            f"  distribution per cycle: {states:,} state transitions "
            f"(${states * PRICE_PER_TRANSITION:.2f}), {invocations:,} Lambda invocations "
            f"(${lambda_cost:.4f} at 1 s each)",
            f"  events per cycle: {copies} Image Copied + {self.images * self.regions} "
            f"Image Shared (one per image and Region), + Distribution Failed per failed image",
            f"  spokes: {spokes:,} stacks; hourly, {spokes * 24:,} runs a day "
            f"(DescribeImages(Type=SHARED) each)",
        ]


def main() -> int:
    for copy_minutes in (60, 180):
        for line in AtScale(100, 10, 25, copy_minutes).lines():
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
