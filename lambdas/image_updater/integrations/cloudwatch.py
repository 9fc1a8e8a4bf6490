"""CloudWatch alarms: the states of the alarms a canary must keep OK (`canaryAlarmNames`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from image_updater.errors import AlarmsUnavailable

_BATCH = 100  # DescribeAlarms takes at most 100 names
_TRANSIENT_CODES = frozenset({"Throttling", "ThrottlingException", "ServiceUnavailable"})


@cache
def default_client() -> Any:
    """Created on first use: only the health check pays for it."""
    import boto3
    from botocore.config import Config

    return boto3.client("cloudwatch", config=Config(retries={"mode": "standard"}))


class CloudWatchAlarms:
    def __init__(self, client: Any = None) -> None:
        self._client = client or default_client()

    def states(self, names: Sequence[str]) -> dict[str, str | None]:
        """Each name -> its metric alarm's state (OK, ALARM, INSUFFICIENT_DATA), None when no
        metric alarm has that name. Only metric alarms: composite ones would need the
        permission on every alarm ("*")."""
        from botocore.exceptions import BotoCoreError, ClientError

        found: dict[str, str | None] = dict.fromkeys(names)
        for start in range(0, len(names), _BATCH):
            token: str | None = None
            while True:
                request: dict[str, Any] = {"AlarmNames": list(names[start : start + _BATCH])}
                if token:
                    request["NextToken"] = token
                try:
                    page = self._client.describe_alarms(**request)
                except ClientError as error:
                    code = error.response.get("Error", {}).get("Code", "")
                    if code in _TRANSIENT_CODES:
                        raise AlarmsUnavailable(f"{code}: {error}") from error
                    raise
                except BotoCoreError as error:
                    raise AlarmsUnavailable(f"{type(error).__name__}: {error}") from error
                for alarm in page.get("MetricAlarms", []):
                    if alarm.get("AlarmName") in found:
                        found[alarm["AlarmName"]] = alarm.get("StateValue")
                token = page.get("NextToken")
                if not token:
                    break
        return found
