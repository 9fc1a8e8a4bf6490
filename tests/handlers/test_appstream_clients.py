"""One AppStream client per kind of call: reads may be re-sent by the SDK (botocore's standard
retry mode), changes never are, so a refused change comes back to the code, which retries
the whole step (with its lock and a fresh look at the lineage).

The simulation answers at the HTTP layer, so botocore's retry policy runs as against AWS, and
`sim.calls` holds every request the SDK sent, re-sends included (`attempt` 2 and up)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from image_updater.domain import naming
from image_updater.errors import (
    AppStreamThrottled,
    AppStreamUnreachable,
    ImageUpdaterError,
    UpdateQuotaExceeded,
)
from image_updater.handlers import check, create
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import FOLLOW, UPDATE
from image_updater.rollout.models import FleetFacts
from rehearsal.appstream import NETWORK_FAILURE, SimulatedAppStream
from tests.handlers.conftest import (
    ACCOUNT,
    DERIVED,
    REGION,
    ROOT,
    START,
    LambdaContext,
    lineage_tags,
    new_task,
)
from tests.handlers.steps import old_root

FLEET_ARN = f"arn:aws:appstream:{REGION}:{ACCOUNT}:fleet/Prod"
IMAGE_ARN = f"arn:aws:appstream:{REGION}:{ACCOUNT}:image/{ROOT}"
# AppStream's answers the SDK's standard mode re-sends: throttling (LimitExceededException is
# among its throttling codes), a 5xx, and a request that never arrived.
RESENT_BY_STANDARD_MODE = ["ThrottlingException", "LimitExceededException", "ServiceUnavailable"]

# The fleet as the roll-out sees it (its rollback record goes to the ledger, then its tags).
PROD = FleetFacts(
    name="Prod",
    arn=FLEET_ARN,
    fleet_type="ALWAYS_ON",
    state="RUNNING",
    platform=None,
    image_name=ROOT,
    image_arn=IMAGE_ARN,
    desired=1,
    running=1,
    errors=(),
    max_sessions_per_instance=None,
)

READS: dict[str, tuple[str, Callable[[AppStreamImages, AppStreamFleets], Any]]] = {
    "describe": ("DescribeImages", lambda images, _: images.describe(ROOT)),
    "tags": ("ListTagsForResource", lambda images, _: images.tags(IMAGE_ARN)),
    "dry run": ("CreateUpdatedImage", lambda images, _: images.can_update(ROOT, DERIVED)),
    "fleets": ("DescribeFleets", lambda _, fleets: fleets.all_fleets()),
    "builders": ("DescribeImageBuilders", lambda _, fleets: fleets.builder_images()),
    "sharing": ("DescribeImagePermissions", lambda images, _: images.shared_with(ROOT)),
}
CHANGES: dict[str, tuple[str, Callable[[AppStreamImages, AppStreamFleets], Any]]] = {
    "create": (
        "CreateUpdatedImage",
        lambda images, _: images.start_update(
            ROOT, DERIVED, description="d", display_name="n", tags=lineage_tags()
        ),
    ),
    "update fleet": ("UpdateFleet", lambda _, fleets: fleets.set_image("Prod", ROOT)),
    "delete": ("DeleteImage", lambda images, _: images.delete(ROOT)),
    "tag": ("TagResource", lambda _, fleets: fleets.record_previous_image(PROD, "B", "run")),
    "untag": ("UntagResource", lambda _, fleets: fleets.forget_previous_image(PROD)),
}


def an_account(sim: SimulatedAppStream) -> None:
    old_root(sim)
    sim.add_fleet("Prod")  # no image: DeleteImage may delete the root


def sends(sim: SimulatedAppStream, operation: str) -> list[tuple[int, str | None]]:
    """(attempt, error) of each request of `operation` the SDK sent."""
    return [(c.attempt, c.error) for c in sim.calls if c.operation == operation]


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("code", [*RESENT_BY_STANDARD_MODE, NETWORK_FAILURE])
def test_a_read_is_re_sent_by_the_sdk_and_succeeds(
    sim: SimulatedAppStream, read: str, code: str
) -> None:
    # Given AppStream fails the next two requests of the read once each
    an_account(sim)
    operation, call = READS[read]
    sim.fail_sends(operation, code, sends=2)

    # When the adapter reads
    call(AppStreamImages(), AppStreamFleets())

    # Then the SDK re-sent it twice, pausing before each, and the third send succeeded
    assert sends(sim, operation) == [(1, code), (2, code), (3, None)]
    assert len(sim.sdk_pauses) == 2


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize(
    ("code", "named_error"),
    [
        ("ThrottlingException", AppStreamThrottled),
        ("ServiceUnavailable", AppStreamUnreachable),
        (NETWORK_FAILURE, AppStreamUnreachable),
    ],
)
def test_a_change_is_sent_once_and_its_failure_comes_back_by_name(
    sim: SimulatedAppStream, change: str, code: str, named_error: type[ImageUpdaterError]
) -> None:
    # Given AppStream fails the next request of the change once (a re-send would succeed)
    an_account(sim)
    operation, call = CHANGES[change]
    sim.fail_sends(operation, code, sends=1)

    # When / Then the adapter raises the name the state machine retries the step on
    with pytest.raises(named_error):
        call(AppStreamImages(), AppStreamFleets())
    # and AppStream saw the request once: the SDK did not re-send it behind the code's back
    assert sends(sim, operation) == [(1, code)]
    assert sim.sdk_pauses == []


def test_a_quota_refusal_reaches_appstream_once_per_step_attempt(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the check chose to update, and AppStream refuses the next real create once
    old_root(sim)
    task = check.handler(new_task(), lambda_context)
    assert task["action"] == UPDATE
    sim.fail_sends(
        "CreateUpdatedImage",
        "LimitExceededException",
        sends=1,
        message="The number of concurrent image updates exceeds the quota for this account.",
        when=lambda params: not params["dryRun"],
    )

    # When the create step runs, then again as the state machine retries it
    with pytest.raises(UpdateQuotaExceeded):
        create.handler(task, lambda_context)
    refused = real_creates(sim)
    retried = create.handler(task, lambda_context)

    # Then each step attempt sent exactly one create, and one image is being built
    assert refused == [(1, "LimitExceededException")]
    assert real_creates(sim) == [(1, "LimitExceededException"), (1, None)]
    assert (retried["action"], retried["newImageName"]) == (FOLLOW, DERIVED)
    assert sim.updates_in_progress() == [DERIVED]


class Rival:
    """Another run that starts the lineage's update from the same source, under its own name
    (one whose lineage lock had expired, say: a lock does not span AppStream's answers)."""

    NAME = naming.derived_image_name(ROOT, START + timedelta(minutes=1))

    def __init__(self) -> None:
        self.started = False

    def start(self, *_: Any) -> None:
        if self.started:
            return
        self.started = True
        boto3.client("appstream").create_updated_image(
            existingImageName=ROOT,
            newImageName=self.NAME,
            newImageDescription=naming.new_image_description(ROOT, START),
            newImageTags=lineage_tags(),
        )


def test_a_refused_create_while_a_rival_starts_the_update_ends_with_one_new_image(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the check chose to update, AppStream refuses the next real create once for its
    # quota, and a rival run starts the lineage's update as soon as anyone waits (the SDK's
    # pause before a re-send; else between the state machine's attempts of the step)
    old_root(sim)
    task = check.handler(new_task(), lambda_context)
    sim.fail_sends(
        "CreateUpdatedImage",
        "LimitExceededException",
        sends=1,
        when=lambda params: params["newImageName"] == DERIVED,
    )
    rival = Rival()

    # When the create step runs until it stops failing, as the state machine retries it
    with sim.pausing_with(rival.start):
        result = create_step_with_retries(task, lambda_context, between=rival.start)

    # Then the retry looked again and follows the rival's image: ONE new image, not two
    new_images = [name for name in sim.images if name != ROOT]
    assert new_images == [Rival.NAME]
    assert (result["action"], result["newImageName"]) == (FOLLOW, Rival.NAME)
    assert [error for _, error in real_creates(sim, DERIVED)] == ["LimitExceededException"]


def create_step_with_retries(
    task: dict[str, Any], context: LambdaContext, *, between: Callable[[], None]
) -> dict[str, Any]:
    """The create step as the state machine runs it: retried on the quota and transient
    errors it names (see infra/workflow/tasks.py), `between` its attempts."""
    for _ in range(4):
        try:
            return dict(create.handler(task, context))
        except (UpdateQuotaExceeded, AppStreamThrottled, AppStreamUnreachable):
            between()
    raise AssertionError("the create step never succeeded")


def real_creates(sim: SimulatedAppStream, name: str | None = None) -> list[tuple[int, str | None]]:
    """(attempt, error) of each real CreateUpdatedImage request (of the image `name`)."""
    return [
        (c.attempt, c.error)
        for c in sim.calls
        if c.operation == "CreateUpdatedImage"
        and not c.params.get("dryRun", False)
        and name in (None, c.params["newImageName"])
    ]
