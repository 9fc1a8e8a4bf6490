"""What one execution produced, as the tests and the rehearsal read it: its states and
history, its invocations, e-mails and events, and the approvals it waited for."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner.clock import SimulatedClock

# Step Functions' quota for a state's input or output (and the execution's). moto does not
# enforce it, and `States.DataLimitExceeded` cannot be caught, so the runner checks it.
PAYLOAD_LIMIT_BYTES = 256 * 1024
# The input key linking an execution started with startExecution.sync:2 to its parent.
STARTED_BY = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"


@dataclass(frozen=True)
class Invocation:
    function: str  # logical id of the function in the template
    handler: str  # e.g. "image_updater.handlers.poll.handler"
    event: Any
    result: Any
    error: str | None
    at: datetime
    appstream_calls: int  # AppStream requests this invocation made

    @property
    def step(self) -> str:
        """plan, check, create, poll or report."""
        return self.handler.split(".")[-2]


@dataclass(frozen=True)
class ChildExecution:
    """An execution the run started and waited for (each image's distribution)."""

    arn: str
    name: str
    input: Any
    status: str
    history: list[dict[str, Any]]


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    attributes: dict[str, str]


@dataclass
class Execution:
    status: str
    input: dict[str, Any]
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    invocations: list[Invocation]
    emails: list[Email]
    waits: list[float]
    retry_waits: list[float]
    elapsed: timedelta
    sim: SimulatedAppStream
    # The EventBridge events the run published, as a rule on the default bus delivers them.
    events: list[dict[str, Any]] = field(default_factory=list)
    # AWS requests the handlers made, by "service.Operation" (AppStream's are in `sim.calls`).
    service_calls: Counter[str] = field(default_factory=Counter)
    # The tasks that waited for a token (roll-out approvals), answered or timed out.
    approvals: list[ApprovalRequest] = field(default_factory=list)
    # The executions the run started and waited for (each image's distribution).
    children: list[ChildExecution] = field(default_factory=list)

    @property
    def oversized_states(self) -> list[str]:
        """States whose input or output AWS would refuse (States.DataLimitExceeded): on AWS
        the run would end there, without an e-mail."""
        found = []
        for event in (e for h in (self.history, *(c.history for c in self.children)) for e in h):
            for key, field_name in (
                ("stateEnteredEventDetails", "input"),
                ("stateExitedEventDetails", "output"),
            ):
                details = event.get(key) or {}
                size = len(str(details.get(field_name) or "").encode())
                if size > PAYLOAD_LIMIT_BYTES:
                    found.append(f"{details.get('name')} {field_name}: {size} bytes")
        return found

    @property
    def states(self) -> list[str]:
        """Names of the states entered, in order: the run's, then each child execution's."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for history in (self.history, *(child.history for child in self.children))
            for e in history
            if "stateEnteredEventDetails" in e
        ]

    def invoked(self, step: str) -> list[Invocation]:
        """Invocations of one step's function: plan, check, create, poll or report."""
        return [i for i in self.invocations if i.step == step]

    def appstream_calls(self, operation: str | None = None) -> list[Any]:
        return [c for c in self.sim.calls if operation in (None, c.operation)]


ProgressListener = Callable[[Invocation, timedelta], None]


class ApprovalRequest:
    """A task waiting for its token (the roll-out's approval), as the run's listener sees it.
    The listener answers with the real run-now code (SendTaskSuccess on moto), may first
    `let_time_pass`, or leaves it: an unanswered request times out, as on AWS."""

    def __init__(
        self,
        *,
        token: str,
        image: str | None,
        execution_arn: str,
        timeout_seconds: int,
        endpoint: Any,
        clock: SimulatedClock,
    ) -> None:
        self.token = token
        self.image = image
        self.execution_arn = execution_arn
        self.timeout_seconds = timeout_seconds
        self._endpoint = endpoint
        self._clock = clock
        self.expired = threading.Event()

    @property
    def answered(self) -> bool:
        return self._endpoint.get_outcome() is not None

    def let_time_pass(self, seconds: float) -> None:
        """The approver answers this long after the request (on the image's timeline)."""
        self._clock.use_lane(self.image)
        self._clock.advance(seconds)

    def expire(self) -> None:
        """Nobody answered within the task's TimeoutSeconds."""
        self.let_time_pass(self.timeout_seconds)
        self.expired.set()


ApprovalListener = Callable[[ApprovalRequest], None]


class ListenerError(RuntimeError):
    """A progress listener raised: the rehearsal's own bug, reported after the run."""
