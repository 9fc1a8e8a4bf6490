"""The updater's own EventBridge Scheduler schedule: read it, and switch it off or on while
keeping everything else.

UpdateSchedule replaces the whole schedule: every optional field the request leaves out goes
back to its default (the target's input, retry policy and dead-letter queue, the time zone,
the description...). So a change of state is GetSchedule, then UpdateSchedule with every
field GetSchedule returned that UpdateSchedule accepts, the fields read from botocore's model
so that a field AWS adds later is carried too. There is no version check between the two
calls: a change made in between (a deploy at that very second) would be overwritten.

Used by the breaker (pause) and by run-now (`--resume-schedule`). Needs
scheduler:GetSchedule, scheduler:UpdateSchedule and iam:PassRole on the schedule's role.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, cast

from botocore.exceptions import BotoCoreError, ClientError

from image_updater.errors import ScheduleUnavailable

DEFAULT_GROUP = "default"
ENABLED, DISABLED = "ENABLED", "DISABLED"
# UpdateSchedule members that are not part of the schedule: a per-request idempotency token.
_REQUEST_ONLY = frozenset({"ClientToken"})


class SchedulerClient(Protocol):
    """The calls the updater makes (boto3's `scheduler` client), and its service model."""

    @property
    def meta(self) -> Any: ...

    def get_schedule(self, *, Name: str, GroupName: str) -> Mapping[str, Any]: ...

    def update_schedule(self, **request: Any) -> Mapping[str, Any]: ...


@cache
def default_client() -> SchedulerClient:
    """Created on first use, like the AppStream client."""
    import boto3  # only the breaker pays for it
    from botocore.config import Config

    return cast(
        SchedulerClient, boto3.client("scheduler", config=Config(retries={"mode": "standard"}))
    )


def accepted_fields(client: SchedulerClient) -> frozenset[str]:
    """The members of UpdateSchedule's request, as the client's model lists them."""
    operation = client.meta.service_model.operation_model("UpdateSchedule")
    return frozenset(operation.input_shape.members) - _REQUEST_ONLY


def update_request(
    schedule: Mapping[str, Any], accepted: Collection[str], state: str
) -> dict[str, Any]:
    """The UpdateSchedule request that changes the state and nothing else: every field of
    `schedule` (GetSchedule's answer) that UpdateSchedule accepts, as it was."""
    request = {
        field: value
        for field, value in schedule.items()
        if field in accepted and field not in _REQUEST_ONLY and value is not None
    }
    request["State"] = state
    return request


@dataclass(frozen=True)
class StateChange:
    """What `set_state` found and left: the schedule as it is now, and its state before."""

    name: str
    group: str
    previous_state: str
    schedule: Mapping[str, Any]

    @property
    def state(self) -> str:
        return str(self.schedule.get("State"))

    @property
    def changed(self) -> bool:
        return self.previous_state != self.state


@contextmanager
def _translated_errors(action: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise ScheduleUnavailable(f"{action}: {code}: {error}") from error
    except BotoCoreError as error:
        raise ScheduleUnavailable(f"{action}: {type(error).__name__}: {error}") from error


class Schedule:
    """One schedule, by name and group."""

    def __init__(
        self, name: str, group: str = DEFAULT_GROUP, client: SchedulerClient | None = None
    ) -> None:
        self.name = name
        self.group = group
        self._given_client = client

    @property
    def _client(self) -> SchedulerClient:
        # Created on first use: a run that does not touch the schedule does not pay for it.
        return self._given_client or default_client()

    def read(self) -> dict[str, Any]:
        with _translated_errors(f"GetSchedule {self.group}/{self.name}"):
            schedule = self._client.get_schedule(Name=self.name, GroupName=self.group)
        return dict(schedule)

    def set_state(self, state: str) -> StateChange:
        """Enable or disable the schedule, keeping every other field; no call that changes
        anything when it is already in that state."""
        current = self.read()
        previous = str(current.get("State"))
        if previous == state:
            return StateChange(self.name, self.group, previous, current)
        request = update_request(current, accepted_fields(self._client), state)
        with _translated_errors(f"UpdateSchedule {self.group}/{self.name}"):
            self._client.update_schedule(**request)
        return StateChange(self.name, self.group, previous, {**current, "State": state})
