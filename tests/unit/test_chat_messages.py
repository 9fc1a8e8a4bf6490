"""Every e-mail's chat form (image_updater/domain/chat.py): valid against the documented
custom-notification format (tests/chat_schema.py), derived from the e-mail (title = subject,
description = its first paragraph, next steps = what it says to do), threaded per image."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from image_updater.distribution import report as distribution
from image_updater.domain import chat
from image_updater.models import FAILED, FOLLOW, NO_UPDATE, SUCCEEDED, TIMED_OUT, Notification
from image_updater.rollout.messages import compose as compose_rollout
from image_updater.update.messages import compose
from image_updater.update.messages.run_refused import compose_rejected_run
from tests.chat_schema import CUSTOM_NOTIFICATION, validate_chat
from tests.unit.test_breaker import pause_email
from tests.unit.test_distribution_report import CTX as DISTRIBUTION_CTX
from tests.unit.test_distribution_report import NAME as DISTRIBUTED_NAME
from tests.unit.test_distribution_report import region
from tests.unit.test_messages import LONGEST_NAME, context, summary, task
from tests.unit.test_rollout_messages import CTX, EVERY_OUTCOME, SETTINGS, rollout

# Every e-mail the updater writes: each outcome of an image's update, a refused run, the
# breaker's pause, each milestone of a roll-out (the approval's ignored answer included), and
# the distributed e-mail (complete, and with failures).
UPDATE_EMAILS = [
    compose(task(image=summary(), outcome=SUCCEEDED), context()),
    compose(task(image=summary(), outcome=SUCCEEDED, action="LATE_REPORT"), context()),
    compose(task(image=None, outcome=NO_UPDATE, action=NO_UPDATE), context()),
    compose(task(image=summary(state="PENDING"), outcome=TIMED_OUT), context()),
    compose(
        task(image=summary(state="FAILED", reason_code="IMAGE_UPDATE_FAILURE"), outcome=FAILED),
        context(),
    ),
    compose(task(), context(), {"Error": "States.Timeout"}),
    compose(task(image=None), context(), {"Error": "States.Timeout"}),
    compose(task(action=FOLLOW, image=summary()), context(), {"Error": "AppStreamThrottled"}),
    compose(task(root_missing=True, image=summary(), outcome=SUCCEEDED), context()),
    compose(task(root=LONGEST_NAME, image=summary(), outcome=SUCCEEDED), context()),
    compose(task(), context(), {"Error": "X", "Cause": "y" * 5000}),
    compose_rejected_run(context(), {"Error": "InvalidExecutionInput"}),
]
EVERY_EMAIL = [
    *UPDATE_EMAILS,
    pause_email(),
    pause_email(count=1, shown=1),
    *(compose_rollout(rollout(outcome), CTX, SETTINGS) for outcome in EVERY_OUTCOME),
    compose_rollout(rollout("APPROVAL_IGNORED", approval={"ignored": 1}), CTX, SETTINGS),
    *(
        distribution.compose(
            "Sales",
            DISTRIBUTED_NAME,
            distribution.results(regions, DISTRIBUTION_CTX.region),
            DISTRIBUTION_CTX,
        )
        for regions in (
            [region("eu-west-1", "AVAILABLE", shared=[])],
            [region("eu-west-1", "TIMED_OUT"), region("", "AVAILABLE", shareError={"Error": "X"})],
        )
    ),
]


def content(mail: Notification) -> dict[str, Any]:
    return validate_chat(chat.chat_message(mail))


@pytest.mark.parametrize("mail", EVERY_EMAIL, ids=lambda mail: mail.subject)
def test_every_emails_chat_form_is_a_valid_custom_notification_derived_from_it(
    mail: Notification,
) -> None:
    # When
    message = content(mail)

    # Then it says what the e-mail says: its subject, its first paragraph, what to do
    assert message["content"]["title"] == mail.subject
    first = mail.body.split("\n\n")[0]
    assert message["content"]["description"] == chat._capped(first, chat.DESCRIPTION_MAX)
    steps = message["content"]["nextSteps"]
    assert steps[-1].startswith("Open this run in Step Functions: https://")
    assert steps[-1].split(": ", 1)[1] in mail.body
    # and threads with the image's other messages (a run's own e-mails, with the run's)
    expected = chat.RUN_THREAD if mail.image == "-" else f"AppStreamImageUpdater-{mail.image}"
    assert message["metadata"]["threadId"] == expected[: chat.THREAD_ID_MAX]
    assert message["metadata"]["eventType"] == mail.outcome


def test_an_images_messages_share_one_thread_and_other_images_have_their_own() -> None:
    # Given the ready and failed e-mails of one lineage, and one of another
    ready = compose(task(image=summary(), outcome=SUCCEEDED), context())
    failed = compose(task(), context(), {"Error": "States.Timeout"})
    canaries = compose_rollout(rollout("CANARIES_UPDATED", root="SalesApps"), CTX, SETTINGS)
    other = compose(task(root="Finance", image=summary(), outcome=SUCCEEDED), context())

    # Then
    threads = {m.subject: content(m)["metadata"]["threadId"] for m in (ready, failed, canaries)}
    assert len(set(threads.values())) == 1, threads
    assert content(other)["metadata"]["threadId"] != content(ready)["metadata"]["threadId"]


def test_the_what_to_do_of_a_failure_is_its_next_step() -> None:
    # Given a failed update, whose e-mail says what to do
    mail = compose(
        task(image=summary(state="FAILED", reason_code="IMAGE_UPDATE_FAILURE"), outcome=FAILED),
        context(),
    )
    (what_to_do,) = [p for p in mail.body.split("\n\n") if p.startswith("What to do: ")]

    # Then
    assert content(mail)["content"]["nextSteps"][0] == what_to_do.removeprefix("What to do: ")


def test_numbered_steps_are_one_step_each() -> None:
    # Given the breaker's pause, whose "What to do" is numbered
    steps = content(pause_email())["content"]["nextSteps"]

    # Then
    assert steps[0].startswith("Fix the cause.")
    assert steps[1].startswith("Check the fix without waiting") and "--dry-run" in steps[1]
    assert steps[2].startswith("Resume the schedule:") and "--resume-schedule" in steps[2]


def test_the_approval_request_gives_the_approve_and_reject_commands_as_steps() -> None:
    # Given / When
    steps = content(compose_rollout(rollout("APPROVAL_REQUESTED"), CTX, SETTINGS))["content"][
        "nextSteps"
    ]

    # Then
    assert steps[0].startswith("To approve") and '`make run-now ARGS="approve ' in steps[0]
    assert steps[1].startswith("To reject:") and '`make run-now ARGS="reject ' in steps[1]


def test_a_long_first_paragraph_is_capped_and_the_email_keeps_it_whole() -> None:
    # Given an error whose cause fills the first paragraph
    mail = Notification(
        subject="S",
        body="x" * 10_000 + "\n\nWhat to do: " + "y" * 900 + "\n",
        outcome=FAILED,
        image="I",
    )

    # When
    message = content(mail)

    # Then
    assert len(message["content"]["description"]) == chat.DESCRIPTION_MAX
    assert message["content"]["description"].endswith("...")
    assert len(message["content"]["nextSteps"][0]) == chat.NEXT_STEP_MAX
    assert "x" * 10_000 in mail.body


def test_the_chat_form_is_written_only_when_the_workflow_asks_for_it() -> None:
    # Given an e-mail
    mail = UPDATE_EMAILS[0]

    # Then a request without the flag gets the e-mail as before, to the key
    assert chat.notification_event(mail, {"task": {}}) == mail.to_event()
    assert chat.notification_event(mail, {"chat": "yes"}) == mail.to_event()
    # and with it, the chat form too
    asked = chat.notification_event(mail, {"chat": True})
    assert asked == {**mail.to_event(), "chat": chat.chat_message(mail)}


@pytest.mark.parametrize(
    "broken",
    [
        {"version": "2.0"},
        {"source": "aws.cloudwatch"},
        {"content": {"textType": "markdown", "description": "d"}},
        {"content": {"title": "t"}},
        {"content": {"description": "d", "nextStep": ["typo"]}},
        {"metadata": {"threadID": "typo"}},
        {"metadata": {"additionalContext": {"k": 1}}},
        {"extra": True},
    ],
)
def test_the_schema_refuses_what_the_documentation_does_not_allow(broken: dict[str, Any]) -> None:
    # Given a valid message with one thing wrong
    message = {**json.loads(chat.chat_message(UPDATE_EMAILS[0])), **broken}

    # Then
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(message, CUSTOM_NOTIFICATION)
