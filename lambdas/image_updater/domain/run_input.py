"""The execution input contract: what the schedule sends and what a hand-started run may send.

The schedule's input also says `"startedBy": "schedule"`, so that the circuit breaker counts
only scheduled runs; runs started by hand (run-now, the console) leave it out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from image_updater.errors import InvalidExecutionInput

EXAMPLE_INPUT = '{"images": ["MyImage"], "dryRun": false}'
_ALLOWED_KEYS = frozenset({"images", "dryRun", "startedBy"})
# The one value of `startedBy`: the schedule's.
STARTED_BY_SCHEDULE = "schedule"
# A refusal quotes the input, and the quote travels in the workflow's state and the e-mail:
# however large the input, the message stays short.
_QUOTE_MAX = 80
_PROBLEMS_MAX = 5


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTE_MAX else f"{text[: _QUOTE_MAX - 20]}... ({len(text)} chars)"


def _listed(problems: list[str]) -> str:
    shown = problems[:_PROBLEMS_MAX]
    if len(problems) > _PROBLEMS_MAX:
        shown.append(f"and {len(problems) - _PROBLEMS_MAX} more problems")
    return "; ".join(shown)


def plan_run(raw: Any, configured_images: Sequence[str]) -> dict[str, Any]:
    """Validate the execution input; return the images to update, the dry-run flag and who
    started the run (`"schedule"`, or None for a run started by hand).

    Strict on purpose: a typo such as `"image"` must not silently update every image.
    """
    if not isinstance(raw, dict):
        raise InvalidExecutionInput(
            f"The run was not started: the input must be a JSON object, got {_quote(raw)}. "
            f"Configured images: {', '.join(configured_images)}. Example input: {EXAMPLE_INPUT}."
        )
    problems = [f"unknown field {_quote(key)}" for key in sorted(set(raw) - _ALLOWED_KEYS)]
    images = raw.get("images")
    if images is None:
        problems.append("the field 'images' is missing")
    elif not isinstance(images, list) or not images:
        problems.append(f"'images' must be a non-empty list of image names, got {_quote(images)}")
    else:
        for name in images:
            if not isinstance(name, str):
                problems.append(f"image names must be strings, got {_quote(name)}")
            elif name not in configured_images:
                problems.append(f"{_quote(name)} is not one of the configured images")
        if len(set(map(repr, images))) != len(images):
            problems.append("'images' lists an image more than once")
    dry_run = raw.get("dryRun", False)
    if not isinstance(dry_run, bool):
        problems.append(f"'dryRun' must be true or false, got {_quote(dry_run)}")
    started_by = raw.get("startedBy")
    if "startedBy" in raw and started_by != STARTED_BY_SCHEDULE:
        problems.append(
            f"'startedBy' can only be {STARTED_BY_SCHEDULE!r} (the schedule's own runs; leave "
            f"it out when starting a run by hand), got {_quote(started_by)}"
        )
    if problems:
        raise InvalidExecutionInput(
            "The run was not started: "
            + _listed(problems)
            + f". Configured images: {', '.join(configured_images)}."
            + f" Example input: {EXAMPLE_INPUT}."
        )
    # Always present (null or not), so the state machine's paths can read it.
    return {"images": images, "dryRun": dry_run, "startedBy": started_by}
