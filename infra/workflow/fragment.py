"""What the workflow's sub-flows share: the parts they wire together, the fragment shape (a
first state and the states whatever follows continues from), and an image's result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from infra.config import UpdaterConfig
from infra.constructs.functions import RolloutFunctions, UpdaterFunctions


@dataclass(frozen=True)
class RolloutParts:
    """What the roll-out's steps are built from and call: the settings, the roll-out's
    functions, the notification topic and the ledger (a hub's, or a spoke's)."""

    config: UpdaterConfig
    functions: RolloutFunctions
    topic: sns.ITopic
    ledger: dynamodb.ITable


@dataclass(frozen=True)
class WorkflowParts(RolloutParts):
    """What the hub's workflow's steps are built from: every function."""

    functions: UpdaterFunctions


class Fragment(sfn.StateMachineFragment):
    """A sub-flow whose constructor ends with `begins_with(first, *ends)`: its end states are
    those whatever follows it continues from (none for a Map's item processor, whose branches
    end in terminal states of their own)."""

    _start: sfn.State
    _ends: tuple[sfn.INextable, ...] = ()

    def begins_with(self, start: sfn.State, *ends: sfn.INextable) -> None:
        self._start = start
        self._ends = ends

    @property
    def start_state(self) -> sfn.State:
        return self._start

    @property
    def end_states(self) -> list[sfn.INextable]:
        return list(self._ends)


def image_result(
    outcome: str, *, failed: bool = False, paths: Mapping[str, str] | None = None
) -> dict[str, object]:
    """An image's result in the run's results (a Pass state's parameters): the image, its
    outcome, the values at `paths` in the state, and whether it failed."""
    return {
        "image.$": "$.rootImageName",
        "outcome": outcome,
        **{key + ".$": path for key, path in (paths or {}).items()},
        "failed": failed,
    }
