"""How a step that takes `{"task": <record>, ...}` reads its event (the roll-out's steps and the
distribution's: image_updater.handlers.read_step), and what its logs carry from then on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from image_updater.distribution.models import RegionDistribution
from image_updater.errors import InvalidExecutionInput
from image_updater.handlers import read_step
from image_updater.observability import logger
from image_updater.rollout.models import Rollout

RUN = "arn:aws:states:us-east-1:123456789012:execution:ImageUpdater:run-1"
NEW = "ImgA-20260105-030000"
TASK = {"rootImageName": "ImgA", "newImageName": NEW, "executionId": RUN, "region": "eu-west-1"}
LOG_KEYS = {"image": "ImgA", "new_image": NEW, "execution_id": RUN}


@pytest.fixture(autouse=True)
def no_log_keys_left() -> Iterator[None]:
    yield
    logger.remove_keys(list(LOG_KEYS))


@pytest.mark.parametrize("read", [Rollout.from_event, RegionDistribution.from_event])
def test_the_task_is_read_and_the_logs_name_its_image_its_new_image_and_the_run(
    read: Callable[[Any], Rollout | RegionDistribution],
) -> None:
    # Given a step's event: its task, and the step's own parameters beside it
    event = {"task": TASK, "action": "copy"}

    # When the step reads it
    record = read_step(event, read)

    # Then it has the task, and every log line from here on names the image and the run
    assert (record.root_image_name, record.new_image_name, record.execution_id) == (
        "ImgA",
        NEW,
        RUN,
    )
    current = logger.get_current_keys()
    assert {key: current.get(key) for key in LOG_KEYS} == LOG_KEYS


@pytest.mark.parametrize("event", [[TASK], "task", None, 3])
def test_an_event_that_is_not_a_json_object_is_refused(event: Any) -> None:
    with pytest.raises(
        InvalidExecutionInput, match=f"expected a JSON object, got {type(event).__name__}"
    ):
        read_step(event, Rollout.from_event)
