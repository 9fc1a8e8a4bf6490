"""The plan handler: validates the execution input before any image is touched."""

from __future__ import annotations

from typing import Any

import pytest

from image_updater.domain.run_input import EXAMPLE_INPUT
from image_updater.handlers import plan
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import LambdaContext
from tests.handlers.steps import raised_by


def plan_event(run_input: Any) -> Any:
    """What the state machine sends: the execution input exactly as given."""
    return run_input


@pytest.mark.parametrize(
    ("run_input", "expected"),
    [
        (
            {"images": ["ImgA"], "dryRun": False},
            {"images": ["ImgA"], "dryRun": False, "startedBy": None},
        ),
        (
            {"images": ["ImgA"], "dryRun": True},
            {"images": ["ImgA"], "dryRun": True, "startedBy": None},
        ),
        ({"images": ["ImgA"]}, {"images": ["ImgA"], "dryRun": False, "startedBy": None}),
        (
            {"images": ["ImgA"], "dryRun": False, "startedBy": "schedule"},
            {"images": ["ImgA"], "dryRun": False, "startedBy": "schedule"},
        ),
    ],
)
def test_valid_input_is_planned_without_calling_appstream(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    run_input: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    # Given the configured image ImgA (CONFIGURED_IMAGES)
    # When
    result = plan.handler(plan_event(run_input), lambda_context)

    # Then
    assert result == expected
    assert sim.calls == []


@pytest.mark.parametrize(
    ("run_input", "expected"),
    [
        ({"images": ["ImgB"]}, "'ImgB' is not one of the configured images"),
        ({"image": ["ImgA"]}, "unknown field 'image'"),
        ({"images": []}, "must be a non-empty list"),
        ({"images": ["ImgA"], "dryRun": "yes"}, "'dryRun' must be true or false"),
    ],
)
def test_invalid_input_raises_invalid_execution_input(
    sim: SimulatedAppStream, lambda_context: LambdaContext, run_input: Any, expected: str
) -> None:
    # Given a hand-started run with bad input
    # When
    raised = raised_by(plan.handler, plan_event(run_input), lambda_context)

    # Then the error type is the one the state machine's Catch reports, and no image was touched
    assert raised.typename == "InvalidExecutionInput"
    assert expected in str(raised.value)
    assert "Configured images: ImgA." in str(raised.value)
    assert sim.calls == []


@pytest.mark.parametrize("run_input", ["ImgA", None, ["ImgA"]])
def test_input_that_is_not_an_object_raises_invalid_execution_input(
    sim: SimulatedAppStream, lambda_context: LambdaContext, run_input: Any
) -> None:
    # Given a hand-started run whose input is not a JSON object
    # When
    raised = raised_by(plan.handler, plan_event(run_input), lambda_context)

    # Then
    assert raised.typename == "InvalidExecutionInput"
    assert "must be a JSON object" in str(raised.value)
    assert EXAMPLE_INPUT in str(raised.value)
    assert sim.calls == []
