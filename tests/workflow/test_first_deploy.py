"""Behaviour a first real deploy relies on, through the synthesized state machine: a refused
run always ends FAILED, a lineage outlives its deleted root, and every platform AWS documents
managed updates for is updated."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from image_updater.domain import naming
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import REGION, Invocation, WorkflowRunner
from tests.workflow.conftest import BASE_IMAGES, AddImage, Run, Timeline
from tests.workflow.steps import imga_has_an_update_imgb_none
from tests.workflow.test_workflow import new_images, started_updates

pytestmark = pytest.mark.workflow


def test_a_refused_run_ends_failed_even_when_its_e_mail_cannot_be_sent(
    runner: WorkflowRunner, sim: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given the topic is gone by the time the refusal is to be e-mailed
    def delete_the_topic(invocation: Invocation, _: timedelta) -> None:
        if invocation.step == "plan":
            sns = boto3.client("sns", region_name=REGION)
            for topic in sns.list_topics()["Topics"]:
                sns.delete_topic(TopicArn=topic["TopicArn"])

    # When a hand-started run with bad input comes
    execution = runner.run(sim, timeline.clock, {"image": ["ImgA"]}, on_invocation=delete_the_topic)

    # Then nothing was sent, and the run still ends FAILED, so the execution alarm sees it
    assert "E-mail not sent (run refused)" in execution.states
    assert execution.status == "FAILED"
    assert execution.error == "RunRefused"


def test_a_deleted_root_does_not_end_its_lineage(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given a first run updated ImgA, and then the admin deleted ImgA to free quota
    imga_has_an_update_imgb_none(add_image)
    run(runner)
    (first,) = new_images(sim, BASE_IMAGES)
    sim.set_updates_available(first, True)
    with sim._lock:  # what DeleteImage does; the simulation needs no API for it here
        del sim._images["ImgA"]

    # When the next scheduled run comes and the updated image has new updates
    timeline.next_run()
    second = run(runner)

    # Then it builds from that image and says the root is gone
    (built,) = [name for name in started_updates(second.appstream_calls()) if name != first]
    assert naming.is_derived_name("ImgA", built)
    (email,) = second.emails
    assert email.subject == f"AppStream image ready: {built}"
    assert f"Updated from:     {first}" in email.body
    assert "the configured image ImgA no longer exists" in email.body
    assert second.status == "SUCCEEDED"


@pytest.mark.parametrize("platform", ["WINDOWS_SERVER_2025", "RHEL8", "ROCKY_LINUX8"])
def test_every_documented_platform_is_updated(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run, platform: str
) -> None:
    # Given a configured image of the platform with updates
    add_image("ImgA", updates_available=True, platform=platform)
    add_image("ImgB", updates_available=False)

    # When
    execution = run(runner)

    # Then
    (built,) = new_images(sim, BASE_IMAGES)
    assert sim.images[built]["Platform"] == platform
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {built}"
