"""Fixtures for the workflow tests: the synthesized state machine, run end to end in moto with
the real handlers, against the simulated AppStream (see rehearsal/runner/).

Synthesis is the expensive part (seconds per configuration), so each configuration gets one
session-scoped runner, created only when a test asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from image_updater.domain.naming import LINEAGE_ROOT_TAG
from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG
from rehearsal.approvals import APPROVERS_ROLE
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Execution, SimulatedClock, WorkflowRunner, set_alarm_state

EMAILS = "ops@example.com"
BASE_IMAGES = ("ImgA", "ImgB")
# Not cdk.json's default (10), so a wait of this length shows the setting reached the workflow.
BASE_POLL_MINUTES = 15
EXTRA_TAGS = '{"CostCenter": "EUC"}'
TEN_IMAGES = tuple(f"Pool{index:02d}" for index in range(10))
# 101 characters, AppStream's maximum, and a valid name.
LONG_ROOT = ("Finance-Reporting.Desktop_Windows-Server-2022-" * 3)[:100] + "X"

BASE_CONTEXT = {
    "imageNames": ",".join(BASE_IMAGES),
    "notificationEmails": EMAILS,
    "pollIntervalMinutes": str(BASE_POLL_MINUTES),
    "maxConcurrentUpdates": "2",
    "newImageTags": EXTRA_TAGS,
}


@pytest.fixture(scope="session")
def runner() -> WorkflowRunner:
    """Two images, defaults otherwise (notifyNoUpdate=false, maxUpdateHours=12)."""
    return WorkflowRunner(BASE_CONTEXT)


def runner_with(**settings: str) -> WorkflowRunner:
    """The runner of a deployment for ImgA and ImgB that e-mails EMAILS, with `settings` (context
    keys) on top."""
    return WorkflowRunner(
        {"imageNames": ",".join(BASE_IMAGES), "notificationEmails": EMAILS, **settings}
    )


@pytest.fixture(scope="session")
def notify_runner() -> WorkflowRunner:
    return runner_with(imageNames="ImgA", notifyNoUpdate="true")


@pytest.fixture(scope="session")
def short_runner() -> WorkflowRunner:
    """Gives up after one hour of ten-minute polls (six status checks); one image at a time."""
    return runner_with(maxUpdateHours="1", pollIntervalMinutes="10", maxConcurrentUpdates="1")


@pytest.fixture(scope="session")
def ten_runner() -> WorkflowRunner:
    return runner_with(imageNames=",".join(TEN_IMAGES), maxConcurrentUpdates="2")


@pytest.fixture(scope="session")
def long_name_runner() -> WorkflowRunner:
    return runner_with(imageNames=LONG_ROOT)


class Timeline:
    """Simulated time across runs. Each run has a SimulatedClock of its own (the runner
    advances it); the simulated AppStream always reads the current run's clock."""

    def __init__(self) -> None:
        self.clock = SimulatedClock()
        # Configured images exist well before any run of the updater.
        self.before_first_run: datetime = self.clock.start - timedelta(days=30)

    def now(self) -> datetime:
        return self.clock.now()

    def next_run(self, after: timedelta = timedelta(days=1)) -> None:
        """The next scheduled run, `after` the previous one started."""
        self.clock = SimulatedClock(self.clock.start + after)


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
def sim(timeline: Timeline) -> Iterator[SimulatedAppStream]:
    simulation = SimulatedAppStream(clock=timeline.now)
    yield simulation
    # Also covers AppStream calls a test makes itself, outside a run.
    assert simulation.violations == []


AddImage = Callable[..., dict[str, Any]]


@pytest.fixture
def add_image(sim: SimulatedAppStream, timeline: Timeline) -> AddImage:
    """`sim.add_image`, created before the first run unless the test says otherwise."""

    def _add(name: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("created_time", timeline.before_first_run)
        root = (kwargs.get("tags") or {}).get(LINEAGE_ROOT_TAG)
        if root:
            # An image an earlier run of the updater built: that run reported it, and the
            # ledger remembers (else the next run reports it late: reports.unrecorded).
            sim.account_state.setdefault("ledger", []).append(
                {"pk": {"S": root}, "sk": {"S": f"image#{name}"}, "status": {"S": "REPORTED"}}
            )
        return sim.add_image(name, **kwargs)

    return _add


Run = Callable[..., Execution]


@pytest.fixture
def run(sim: SimulatedAppStream, timeline: Timeline) -> Run:
    """One execution on the test's simulation and current clock. `execution_input=None` is
    the schedule's own input, read from the synthesized template."""

    def _run(workflow: WorkflowRunner, execution_input: Any = None) -> Execution:
        execution = workflow.run(sim, timeline.clock, execution_input)
        assert sim.violations == [], "the workflow made requests AppStream would refuse"
        assert execution.oversized_states == [], "AWS would end this run: States.DataLimitExceeded"
        return execution

    return _run


# --- the roll-out's deployments and fleets (tests/workflow/test_rollout.py and others) --------

ROOT = "ImgA"
ALARM = "CanaryErrors"
WINDOW = "cron(0 22 ? * SAT *)"


def rollout_workflow(**settings: str) -> WorkflowRunner:
    """The workflow synthesized for ImgA alone, with the roll-out's `settings` (context keys)."""
    return WorkflowRunner({"imageNames": ROOT, "notificationEmails": EMAILS, **settings})


@pytest.fixture(scope="session")
def rollout_runner() -> WorkflowRunner:
    """Soak 24 h, alarm checked, approval required (72 h), production on Saturdays 22:00."""
    return rollout_workflow(
        canarySoakHours="24",
        canaryAlarmNames=ALARM,
        requireApproval="true",
        approvalTimeoutHours="72",
        rolloutWindow=WINDOW,
        approvers=APPROVERS_ROLE,
    )


@pytest.fixture(scope="session")
def unattended() -> WorkflowRunner:
    """No soak, no approval, production at once, even with no canary tagged (the admin's
    explicit allowUntestedProduction); keeps one image per lineage."""
    return rollout_workflow(
        canarySoakHours="0",
        requireApproval="false",
        allowUntestedProduction="true",
        rolloutWindow="immediately",
        keepImages="1",
    )


def follows(stage: str, root: str = ROOT) -> dict[str, str]:
    return {FOLLOWS_TAG: root, STAGE_TAG: stage}


def prod_on_the_root(sim: SimulatedAppStream, add_image: AddImage) -> None:
    """Given ImgA with an update available, and the production fleet Prod on it."""
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))


@pytest.fixture
def fleets(sim: SimulatedAppStream, add_image: AddImage) -> SimulatedAppStream:
    """ImgA with an update; a canary, two production fleets, and two fleets on ImgA the
    updater was not given (one untagged, one following another lineage)."""
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Canary", image=ROOT, tags=follows("canary"))
    sim.add_fleet("ProdA", image=ROOT, tags=follows("production"))
    sim.add_fleet("ProdB", image=ROOT, tags=follows("production"))
    sim.add_fleet("Untagged", image=ROOT)
    sim.add_fleet("OtherLineage", image=ROOT, tags=follows("production", root="ImgZ"))
    set_alarm_state(sim, ALARM, "OK")
    return sim
