"""Chat through the synthesized state machine: the same situations run on a deployment without
chat and on one with a Slack channel. With chat, each message is published once with a form per
protocol: the `email` form is, word for word, the e-mail the deployment without chat sends,
and the chat form (for `https`, the chat service's protocol, and `default`) is a valid custom
notification (tests/chat_schema.py) of the same message, threaded per image."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from image_updater.domain import chat
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Execution, WorkflowRunner
from rehearsal.runner.clock import SimulatedClock
from rehearsal.runner.execution import Email
from tests.chat_schema import validate_chat, validate_published
from tests.infra.test_chat import SLACK
from tests.workflow.conftest import BASE_CONTEXT

pytestmark = pytest.mark.workflow

START = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
Setup = Callable[[SimulatedAppStream], None]


@pytest.fixture(scope="module")
def chat_runner() -> WorkflowRunner:
    return WorkflowRunner({**BASE_CONTEXT, **SLACK})


def ready(sim: SimulatedAppStream) -> None:
    _images(sim)
    sim.script_update("ImgA", polls=2)


def failed(sim: SimulatedAppStream) -> None:
    _images(sim)
    sim.script_update(
        "ImgA",
        polls=2,
        outcome="FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message='Windows Update returned 0x80070643 ("install failed").',
    )


def both_ready(sim: SimulatedAppStream) -> None:
    _images(sim, imgb_updates=True)
    sim.script_update("ImgA", polls=1)
    sim.script_update("ImgB", polls=3)


def _images(sim: SimulatedAppStream, imgb_updates: bool = False) -> None:
    created = START - timedelta(days=30)
    sim.add_image("ImgA", updates_available=True, created_time=created)
    sim.add_image("ImgB", updates_available=imgb_updates, created_time=created)


def _run(workflow: WorkflowRunner, setup: Setup, execution_input: Any = None) -> Execution:
    """One execution on a simulation and clock of its own, started at START (so that two
    deployments' e-mails of the same situation can be compared)."""
    clock = SimulatedClock(START)
    sim = SimulatedAppStream(clock=clock.now)
    setup(sim)
    execution = workflow.run(sim, clock, execution_input)
    assert sim.violations == []
    return execution


def _same_run(text: str) -> str:
    """The text with the run's name (random per execution) made the same."""
    return re.sub(r"rehearsal-[0-9a-f-]{36}", "rehearsal-RUN", text)


def _by_image(emails: list[Email]) -> list[Email]:
    """The e-mails grouped by image, each image's in the order they were sent."""
    return sorted(emails, key=lambda email: email.attributes.get("image", ""))


SITUATIONS: dict[str, tuple[Setup, Any]] = {
    "ready": (ready, None),
    "failed": (failed, None),
    "two images ready": (both_ready, None),
    "run refused": (ready, {"images": "ImgA"}),
}


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_with_chat_the_email_is_unchanged_and_the_chat_form_is_valid(
    situation: str, runner: WorkflowRunner, chat_runner: WorkflowRunner
) -> None:
    # Given one situation, run without chat and with a Slack channel
    setup, execution_input = SITUATIONS[situation]
    plain = _run(runner, setup, execution_input)
    with_chat = _run(chat_runner, setup, execution_input)

    # Then the same messages go out, with the same subjects and attributes (each image's in the
    # same order; two images' branches of the Map run side by side, in either order)
    assert plain.status == with_chat.status
    assert plain.emails, "the situation sends no e-mail"
    sent_with_chat, sent_plain = _by_image(with_chat.emails), _by_image(plain.emails)
    assert [(m.subject, m.attributes) for m in sent_with_chat] == [
        (m.subject, m.attributes) for m in sent_plain
    ]
    for sent, email in zip(sent_with_chat, sent_plain, strict=True):
        # and each is published with a form per protocol: the e-mail word for word
        forms = validate_published(sent.body)
        assert _same_run(forms["email"]) == _same_run(email.body)
        # and the chat form, valid, of the same message, in its image's thread
        message = validate_chat(forms["default"])
        assert message["content"]["title"] == sent.subject
        first_paragraph = forms["email"].split("\n\n")[0]
        assert message["content"]["description"] == chat._capped(
            first_paragraph, chat.DESCRIPTION_MAX
        )
        assert message["metadata"]["threadId"] == chat.thread_id(sent.attributes["image"])


def test_each_images_messages_are_threaded_apart(chat_runner: WorkflowRunner) -> None:
    # Given two images updated in one run / When
    execution = _run(chat_runner, both_ready)

    # Then each image's e-mail threads under its own lineage
    threads = {
        email.attributes["image"]: validate_chat(validate_published(email.body)["https"])[
            "metadata"
        ]["threadId"]
        for email in execution.emails
    }
    assert threads == {
        "ImgA": "AppStreamImageUpdater-ImgA",
        "ImgB": "AppStreamImageUpdater-ImgB",
    }


def test_a_report_that_cannot_be_written_still_reaches_the_chat_as_valid_json(
    chat_runner: WorkflowRunner,
) -> None:
    # Given the report function fails, with a cause that quotes and breaks lines
    failure = RuntimeError('the "report" broke\non two lines')
    with mock.patch("image_updater.handlers.report.compose", side_effect=failure):
        # When
        execution = _run(chat_runner, ready)

    # Then the state machine's own fallback message goes out in both forms
    (sent,) = execution.emails
    forms = validate_published(sent.body)
    assert forms["email"].startswith("A run of the AppStream image updater failed")
    message = validate_chat(forms["default"])
    assert message["content"]["description"] == forms["email"]
    assert message["content"]["title"] == sent.subject
    assert message["metadata"]["threadId"] == chat.RUN_THREAD
