"""The execution input contract: strict, and every refusal says what would be accepted."""

from __future__ import annotations

from typing import Any

import pytest

from image_updater.domain.run_input import EXAMPLE_INPUT, plan_run
from image_updater.errors import InvalidExecutionInput

CONFIGURED = ["ImgA", "ImgB"]


def refusal(raw: Any, configured: list[str] = CONFIGURED) -> str:
    with pytest.raises(InvalidExecutionInput) as raised:
        plan_run(raw, configured)
    return str(raised.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"images": ["ImgA", "ImgB"], "dryRun": False},
            {"images": ["ImgA", "ImgB"], "dryRun": False, "startedBy": None},
        ),
        (
            {"images": ["ImgB"], "dryRun": True},
            {"images": ["ImgB"], "dryRun": True, "startedBy": None},
        ),
        ({"images": ["ImgA"]}, {"images": ["ImgA"], "dryRun": False, "startedBy": None}),
        (
            {"images": ["ImgA"], "dryRun": False, "startedBy": "schedule"},
            {"images": ["ImgA"], "dryRun": False, "startedBy": "schedule"},
        ),
    ],
)
def test_valid_input_is_planned(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    # Given / When
    plan = plan_run(raw, CONFIGURED)

    # Then
    assert plan == expected


def test_the_schedule_input_for_every_configured_image_is_valid() -> None:
    # Given the input the schedule sends
    raw = {"images": list(CONFIGURED), "dryRun": False, "startedBy": "schedule"}

    # When
    plan = plan_run(raw, CONFIGURED)

    # Then the run is the schedule's (the breaker counts it)
    assert plan["images"] == CONFIGURED
    assert plan["startedBy"] == "schedule"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, "the field 'images' is missing"),
        ({"dryRun": True}, "the field 'images' is missing"),
        ({"images": None}, "the field 'images' is missing"),
        ({"images": "ImgA"}, "'images' must be a non-empty list of image names, got 'ImgA'"),
        ({"images": {"ImgA": 1}}, "'images' must be a non-empty list"),
        ({"images": []}, "'images' must be a non-empty list of image names, got []"),
        ({"images": ["ImgA", 7]}, "image names must be strings, got 7"),
        ({"images": ["ImgC"]}, "'ImgC' is not one of the configured images"),
        ({"images": ["imga"]}, "'imga' is not one of the configured images"),
        ({"images": ["ImgA", "ImgA"]}, "'images' lists an image more than once"),
        ({"images": ["ImgA"], "dryRun": "false"}, "'dryRun' must be true or false, got 'false'"),
        ({"images": ["ImgA"], "dryRun": 0}, "'dryRun' must be true or false, got 0"),
        ({"images": ["ImgA"], "dryRun": None}, "'dryRun' must be true or false"),
        ({"image": ["ImgA"]}, "unknown field 'image'"),
        ({"images": ["ImgA"], "DryRun": True}, "unknown field 'DryRun'"),
        ({"images": ["ImgA"], "startedBy": "hand"}, "'startedBy' can only be 'schedule'"),
        ({"images": ["ImgA"], "startedBy": None}, "'startedBy' can only be 'schedule'"),
        ({"images": ["ImgA"], "startedBy": "Schedule"}, "got 'Schedule'"),
        ({"images": ["ImgA"], "startedBy": ["schedule"]}, "got ['schedule']"),
        ({"images": ["ImgA"], "StartedBy": "schedule"}, "unknown field 'StartedBy'"),
    ],
)
def test_invalid_input_is_refused_with_the_reason(raw: Any, expected: str) -> None:
    # Given / When
    message = refusal(raw)

    # Then
    assert message.startswith("The run was not started: ")
    assert expected in message


def test_a_typo_in_the_field_name_does_not_update_every_image() -> None:
    # Given a hand-started run with a typo
    # When / Then it is refused for both reasons, not read as "all images"
    message = refusal({"image": ["ImgA"]})
    assert "unknown field 'image'" in message
    assert "the field 'images' is missing" in message


def test_every_problem_is_listed_at_once() -> None:
    # Given input with three problems
    message = refusal({"images": ["ImgC", "ImgC"], "dryRun": "yes", "extra": 1})

    # Then each is named
    for problem in [
        "unknown field 'extra'",
        "'ImgC' is not one of the configured images",
        "lists an image more than once",
        "'dryRun' must be true or false",
    ]:
        assert problem in message


@pytest.mark.parametrize("raw", [None, "ImgA", ["ImgA"], 42, True])
def test_input_that_is_not_an_object_is_refused(raw: Any) -> None:
    # Given / When
    message = refusal(raw)

    # Then it says what an object looks like
    assert "must be a JSON object" in message
    assert EXAMPLE_INPUT in message
    assert repr(raw) in message
    assert "Configured images: ImgA" in message


def test_the_refusal_names_the_configured_images_and_an_example() -> None:
    # Given / When
    message = refusal({"images": ["Nope"]})

    # Then
    assert "Configured images: ImgA, ImgB." in message
    assert f"Example input: {EXAMPLE_INPUT}." in message


def test_an_image_not_configured_is_refused_even_when_it_is_a_real_name() -> None:
    # Given nothing is configured
    # When / Then
    message = refusal({"images": ["ImgA"]}, configured=[])
    assert "'ImgA' is not one of the configured images" in message
