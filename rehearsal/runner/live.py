"""The simulated account's place, and the run a deployment is working on now."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from rehearsal.runner.clock import SimulatedClock
from rehearsal.runner.execution import ApprovalRequest, Invocation, ProgressListener

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Recorder:
    """One run's clock and what happened in it."""

    clock: SimulatedClock = field(default_factory=SimulatedClock)
    on_invocation: ProgressListener | None = None
    # Map worker -> the image it ran last (each worker is one concurrency slot).
    last_in_slot: dict[int, str] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    retry_waits: list[float] = field(default_factory=list)
    service_calls: Counter[str] = field(default_factory=Counter)
    listener_errors: list[Exception] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Tasks waiting for their token, in the order they began to wait; `approvals` keeps all.
    waiting: list[ApprovalRequest] = field(default_factory=list)
    approvals: list[ApprovalRequest] = field(default_factory=list)


class Live:
    """The run a deployment is working on now: what the interpreter's patches read, so that
    one deployment can serve many runs (a year of them) one after the other."""

    def __init__(self) -> None:
        self.run = Recorder()

    @property
    def clock(self) -> SimulatedClock:
        return self.run.clock

    def now(self) -> datetime:
        return self.run.clock.now()

    def pass_time(self, seconds: float) -> None:
        """On the clock of the run under way (a deployment serves one run after another)."""
        self.run.clock.advance(seconds)
