"""What the simulation's tests share: a clock they move by hand, a client, and short
readings of what AppStream answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
ARN_PREFIX = "arn:aws:appstream:us-east-1:123456789012:image/"


class ManualClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def new_client(config: Config | None = None) -> Any:
    return boto3.client(
        "appstream",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def state_of(client: Any, name: str) -> str:
    return str(client.describe_images(Names=[name])["Images"][0]["State"])


FLEET_ARN_PREFIX = "arn:aws:appstream:us-east-1:123456789012:fleet/"


def fleet_of(client: Any, name: str) -> dict[str, Any]:
    fleet: dict[str, Any] = client.describe_fleets(Names=[name])["Fleets"][0]
    return fleet


def can_update(client: Any, name: str, new_name: str) -> bool:
    """CreateUpdatedImage's dry run: whether AppStream offers an update of `name`."""
    answer = client.create_updated_image(existingImageName=name, newImageName=new_name, dryRun=True)
    return bool(answer["canUpdateImage"])
