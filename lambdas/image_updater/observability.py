"""One Logger and one Metrics for every handler, and the decorator that wires them.

No Powertools Tracer: importing it (and aws_xray_sdk) doubles cold-import time. X-Ray
active tracing on the functions and the state machine shows every invocation without it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "appstream-image-updater"
NAMESPACE = "AppStreamImageUpdater"
# The one dimension beyond `service`, on the one metric kept per lineage (PatchAgeDays): each
# value is a custom metric CloudWatch bills for, so no other metric carries it.
LINEAGE_DIMENSION = "Lineage"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

__all__ = ["MetricUnit", "count", "instrumented", "logger", "metrics", "per_lineage"]

Handler = Callable[[Any, Any], dict[str, Any]]


def count(metric: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=metric, unit=unit, value=value)


def per_lineage(metric: str, lineage: str, value: float) -> None:
    """One data point of `metric` for one lineage, printed at once (its own dimension set, so
    not in the invocation's shared metric set). single_metric prints even with metrics
    disabled (POWERTOOLS_METRICS_DISABLED, as offline runs set it), so that is checked here."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=metric,
        unit=MetricUnit.NoUnit,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, LINEAGE_DIMENSION: lineage},
    ):
        pass


def instrumented(handler: Handler) -> Handler:
    """Structured logs with the Lambda context, metrics flushed after every invocation."""

    @wraps(handler)
    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def wrapper(event: Any, context: Any) -> dict[str, Any]:
        return handler(event, context)

    # What the handler's import created lives as long as the process: move it out of the
    # collector's way (gc.freeze). Otherwise the first invocation's allocations (botocore
    # parsing its JSON service model) trigger a full collection that walks every object of
    # every imported module: measured, about 18 ms of the poll function's first call.
    gc.freeze()
    return wrapper
