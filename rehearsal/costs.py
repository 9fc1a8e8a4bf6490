"""What the pipeline's AWS usage costs, from counts the rehearsal measures.

List prices, us-east-1, on-demand, without free tiers (most of this usage falls inside them),
as published by AWS in November 2026. Change them here: the year rehearsal and its tests read
them from this one place.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1_000  # Standard workflows
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000133334  # arm64
# Offline runs cannot measure how long a handler takes on AWS. Each makes a few API calls;
# half a second on average is a generous estimate (the functions time out after 30 s to 2 min).
LAMBDA_ASSUMED_SECONDS = 0.5
LAMBDA_MEMORY_GB = 256 / 1024  # every function (infra/constructs/functions.py)
DYNAMODB_PER_WRITE = 0.625 / 1_000_000  # on-demand write request unit (items < 1 KB)
DYNAMODB_PER_READ = 0.125 / 1_000_000  # on-demand read request unit
EVENTBRIDGE_PER_EVENT = 1.00 / 1_000_000  # custom events on the default bus
SCHEDULER_PER_INVOCATION = 1.00 / 1_000_000
SNS_PER_PUBLISH = 0.50 / 1_000_000
SNS_PER_EMAIL = 2.00 / 100_000
KMS_KEY_PER_MONTH = 1.00  # the topic's customer-managed key
CLOUDWATCH_PER_ALARM_METRIC_MONTH = 0.10  # 3 metrics in the execution alarm + 1 on the DLQ
ALARM_METRICS = 4

_DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
_DYNAMODB_READS = frozenset({"GetItem", "Query", "Scan"})


@dataclass(frozen=True)
class Usage:
    """What the rehearsal counted over some period."""

    months: float
    scheduled_runs: int
    state_transitions: int
    lambda_invocations: int
    emails: int
    events: int
    service_calls: Counter[str]  # "dynamodb.PutItem": n, ... (AppStream's calls are free)


@dataclass(frozen=True)
class CostLine:
    item: str
    arithmetic: str
    dollars: float


def cost_lines(usage: Usage) -> list[CostLine]:
    """The bill, item by item, each with the arithmetic behind it."""
    writes = sum(n for call, n in usage.service_calls.items() if _operation(call, _DYNAMODB_WRITES))
    reads = sum(n for call, n in usage.service_calls.items() if _operation(call, _DYNAMODB_READS))
    gb_seconds = usage.lambda_invocations * LAMBDA_ASSUMED_SECONDS * LAMBDA_MEMORY_GB
    return [
        CostLine(
            "Step Functions",
            f"{usage.state_transitions:,} transitions x $0.025 per 1,000",
            usage.state_transitions * STEP_FUNCTIONS_PER_TRANSITION,
        ),
        CostLine(
            "Lambda",
            f"{usage.lambda_invocations:,} invocations, {gb_seconds:,.0f} GB-s "
            f"(assuming {LAMBDA_ASSUMED_SECONDS} s each at 256 MB)",
            usage.lambda_invocations * LAMBDA_PER_REQUEST + gb_seconds * LAMBDA_PER_GB_SECOND,
        ),
        CostLine(
            "DynamoDB ledger",
            f"{writes:,} writes x $0.625 + {reads:,} reads x $0.125 per million",
            writes * DYNAMODB_PER_WRITE + reads * DYNAMODB_PER_READ,
        ),
        CostLine(
            "EventBridge",
            f"({usage.events:,} events + {usage.scheduled_runs:,} scheduled starts) "
            "x $1.00 per million",
            usage.events * EVENTBRIDGE_PER_EVENT + usage.scheduled_runs * SCHEDULER_PER_INVOCATION,
        ),
        CostLine(
            "SNS e-mail",
            f"{usage.emails:,} e-mails x $2.00 per 100,000",
            usage.emails * (SNS_PER_EMAIL + SNS_PER_PUBLISH),
        ),
        CostLine(
            "KMS key",
            f"{usage.months:g} months x $1.00",
            usage.months * KMS_KEY_PER_MONTH,
        ),
        CostLine(
            "CloudWatch alarms",
            f"{ALARM_METRICS} alarm metrics x $0.10 x {usage.months:g} months",
            ALARM_METRICS * CLOUDWATCH_PER_ALARM_METRIC_MONTH * usage.months,
        ),
    ]


def _operation(call: str, operations: frozenset[str]) -> bool:
    service, _, operation = call.partition(".")
    return service == "dynamodb" and operation in operations
