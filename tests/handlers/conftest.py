"""The real handlers against the AppStream simulation: real boto3 clients, no network.

Each test gets a fresh simulation on a manual clock shared with the product's `clock`, the
environment the stack gives the functions, and a fresh AppStream client built inside the
simulation. After each test, the simulation must have seen no request AppStream would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from image_updater import clock as product_clock
from image_updater import ledger as product_ledger
from image_updater.domain import naming
from image_updater.integrations.appstream.client import default_client
from rehearsal.appstream import SimulatedAppStream
from tests.ledger_table import create_ledger_table

REGION = "us-east-1"
ACCOUNT = "123456789012"
START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
STARTED_AT = "2026-01-05T03:00:00.000Z"  # $$.Execution.StartTime for START
EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:ImageUpdater:run-1"
ROOT = "ImgA"
DERIVED = "ImgA-20260105-030000"  # the name a run started at START derives
IMAGE_ARN = f"arn:aws:appstream:{REGION}:{ACCOUNT}:image/"
CONFIGURED_TAGS = {"team": "euc"}
MAX_POLLS = 3
MAX_CONCURRENT_UPDATES = 2


class ManualClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "image-updater-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:image-updater-test"
    aws_request_id: str = "0f6d3c1e-0000-4000-8000-000000000000"


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock()
    monkeypatch.setattr(product_clock, "utc_now", manual)
    return manual


@pytest.fixture(autouse=True)
def no_metrics_from_before() -> None:
    """Each test sees only the metrics of its own invocations, whatever ran before it."""
    from image_updater.observability import metrics

    metrics.clear_metrics()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CONFIGURED_IMAGES": json.dumps([ROOT]),
        "NEW_IMAGE_TAGS": json.dumps(CONFIGURED_TAGS),
        "MAX_POLLS": str(MAX_POLLS),
        "MAX_UPDATE_HOURS": "1",
        "MAX_CONCURRENT_UPDATES": str(MAX_CONCURRENT_UPDATES),
        "KEEP_IMAGES": "2",
        "POWERTOOLS_METRICS_NAMESPACE": "test",
    }.items():
        monkeypatch.setenv(name, value)


LEDGER_TABLE = "ledger"


@pytest.fixture(autouse=True)
def ledger_table(environment: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The updater's DynamoDB ledger, in moto, with the stack's key schema."""
    import boto3
    from moto import mock_aws

    from rehearsal.appstream.hooks import use_a_hooked_default_session

    # boto3's default session is kept across tests (moto would drop it, and each new session
    # reads botocore's endpoint and service data from disk again: about 0.1 s of CPU a test):
    # the one the simulation keeps, rebuilt whenever a built-in handler, such as moto's, is
    # added (see rehearsal/appstream/hooks.py).
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        use_a_hooked_default_session()
        create_ledger_table(boto3.client("dynamodb"), LEDGER_TABLE)
        monkeypatch.setenv("LEDGER_TABLE", LEDGER_TABLE)
        product_ledger.default_client.cache_clear()
        yield LEDGER_TABLE
        product_ledger.default_client.cache_clear()


def ledger_items() -> list[dict[str, Any]]:
    import boto3

    return list(boto3.client("dynamodb").scan(TableName=LEDGER_TABLE)["Items"])


def reported(*images: str, root: str = ROOT) -> None:
    """The ledger remembers that earlier runs e-mailed these images' final reports (as it
    does for every image the updater built; see reports.unrecorded)."""
    import boto3

    for image in images:
        boto3.client("dynamodb").put_item(
            TableName=LEDGER_TABLE,
            Item={"pk": {"S": root}, "sk": {"S": "image#" + image}, "status": {"S": "REPORTED"}},
        )


def mark_sent(task: dict[str, Any]) -> None:
    """What the workflow's "Mark the report sent" step does once SNS accepted the e-mail of
    the report `task`'s run claimed (see infra/workflow/notify.py)."""
    import boto3

    boto3.client("dynamodb").update_item(
        TableName=LEDGER_TABLE,
        Key={"pk": {"S": task["rootImageName"]}, "sk": {"S": "image#" + task["newImageName"]}},
        UpdateExpression="SET #status = :reported",
        ConditionExpression="#status = :claimed AND claimer = :me",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":reported": {"S": "REPORTED"},
            ":claimed": {"S": "CLAIMED"},
            ":me": {"S": task["executionId"]},
        },
    )


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatedAppStream]:
    simulation = SimulatedAppStream(account_id=ACCOUNT, region=REGION, clock=clock)
    with simulation.active():
        # The handlers' client is cached: build a new one inside this simulation.
        default_client.cache_clear()
        yield simulation
        default_client.cache_clear()
    assert simulation.violations == []


def lineage_tags(root: str = ROOT, source: str = ROOT) -> dict[str, str]:
    return {naming.LINEAGE_ROOT_TAG: root, naming.SOURCE_IMAGE_TAG: source}


def new_task(root: str = ROOT, started_at: str = STARTED_AT) -> dict[str, Any]:
    """The item the Map state hands to the check step."""
    return {
        "rootImageName": root,
        "executionId": EXECUTION_ARN,
        "startedAt": started_at,
        "dryRun": False,
    }


def lambda_error(error: BaseException) -> dict[str, str]:
    """What a Catch rule captures when a Python Lambda raised `error`."""
    cause = {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": LambdaContext.aws_request_id,
        "stackTrace": ['  File "/var/task/image_updater/service.py", line 1, in step\n'],
    }
    return {"Error": type(error).__name__, "Cause": json.dumps(cause)}


def emitted_metrics(stdout: str) -> dict[str, float]:
    """The metrics Powertools printed (CloudWatch embedded metric format), by name."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                found[metric["Name"]] = value[-1] if isinstance(value, list) else value
    return found
