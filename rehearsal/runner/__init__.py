"""Runs the synthesized workflow end to end, offline.

The exact state machine `cdk synth` produces runs in moto's Step Functions interpreter;
its Lambda tasks call the real handlers in-process; the handlers' AppStream calls are
answered by the simulation; SNS messages are collected from moto. Wait states and Retry
intervals do not sleep: they advance a simulated clock, and every requested wait is kept.

The parts: `deployment` (the stack in moto, `WorkflowRunner`), `clock` (simulated time),
`execution` (what a run produced), `observed` (what it left in moto, read back), `lambdas`
(the handlers in-process), `interpreter` (moto's Step Functions interpreter on simulated time)
and `account_state` (what AWS keeps between runs).
"""

from rehearsal.runner.account_state import set_alarm_state
from rehearsal.runner.clock import SimulatedClock
from rehearsal.runner.deployment import DeployedAccount, Deployment, WorkflowRunner
from rehearsal.runner.execution import (
    PAYLOAD_LIMIT_BYTES,
    ApprovalListener,
    ApprovalRequest,
    Email,
    Execution,
    Invocation,
    ListenerError,
    ProgressListener,
)
from rehearsal.runner.lambdas import LambdaContext, StepByStepRun
from rehearsal.runner.live import ACCOUNT, REGION
from rehearsal.runner.observed import capture_published_events, published_events, sent_emails

__all__ = [
    "ACCOUNT",
    "PAYLOAD_LIMIT_BYTES",
    "REGION",
    "ApprovalListener",
    "ApprovalRequest",
    "DeployedAccount",
    "Deployment",
    "Email",
    "Execution",
    "Invocation",
    "LambdaContext",
    "ListenerError",
    "ProgressListener",
    "SimulatedClock",
    "StepByStepRun",
    "WorkflowRunner",
    "capture_published_events",
    "published_events",
    "sent_emails",
    "set_alarm_state",
]
