"""The workflow's e-mail steps, in one place: the report function writes an e-mail into the
state (`$.notification`: subject, body, ...), SNS sends it. Every use (an image's report, the
breaker's pause, the roll-out's e-mails) goes through these, with its own catch.

With a chat channel configured (`chat`), each message is published once with a form per
protocol (SNS `MessageStructure=json`): the e-mail's text, exactly as without chat, for the
`email` subscriptions; its chat form (domain/chat.py, an Amazon Q Developer in chat
applications custom notification) for `https`, the protocol the chat service subscribes with,
and as the `default` every other protocol gets. Without chat, nothing of this is in the
definition.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.domain.chat import ASKED, RUN_THREAD, SOURCE, TEXT_TYPE, VERSION
from infra.workflow.tasks import Catch, Retry, guard, invoke, task_input

NOTIFICATION = "$.notification"
CHAT_FIELD = "chat"  # where the report functions put an e-mail's chat form
CHAT_FALLBACK = "$.chatForm"  # where publish_text's Pass puts its chat form
SNS_RETRY = Retry((sfn.Errors.ALL,), Duration.seconds(5), 3)


def write_email(
    scope: Construct,
    name: str,
    report: lambda_.IFunction,
    *,
    fields: Sequence[str] = ("subject", "body"),
    outcome: str | None = None,
    catch: Catch | None = None,
    chat: bool = False,
) -> tasks.LambdaInvoke:
    """The report function writes the e-mail about the state (for `outcome`, when given); the
    `fields` it returns land at `$.notification`, with its chat form when `chat`."""
    return invoke(
        scope,
        name,
        report,
        payload=task_input(
            executionArn=sfn.JsonPath.execution_id, outcome=outcome, **chat_request(chat)
        ),
        result_selector={
            field + ".$": f"$.Payload.{field}"
            for field in (*fields, *((CHAT_FIELD,) if chat else ()))
        },
        result_path=NOTIFICATION,
        catch=catch,
    )


def send_email(
    scope: Construct,
    name: str,
    topic: sns.ITopic,
    *,
    at: str = NOTIFICATION,
    outcome: str | None = None,
    image_at: str | None = None,
    catch: Catch | None = None,
    chat: bool = False,
) -> tasks.SnsPublish:
    """Sends the e-mail written at `at` (its subject and body; with `chat`, its chat form too).
    Its message attributes `outcome` and `image`, for subscribers' filters, come from the
    e-mail unless given (an outcome as a value, the image as a path)."""
    body = sfn.JsonPath.string_at(f"{at}.body")
    return publish(
        scope,
        name,
        topic,
        subject=sfn.JsonPath.string_at(f"{at}.subject"),
        message=(
            per_protocol(body, sfn.JsonPath.string_at(f"{at}.{CHAT_FIELD}"))
            if chat
            else sfn.TaskInput.from_json_path_at(f"{at}.body")
        ),
        per_subscription_type=chat,
        message_attributes={
            "outcome": tasks.MessageAttribute(
                value=outcome or sfn.JsonPath.string_at(f"{at}.outcome")
            ),
            "image": tasks.MessageAttribute(
                value=sfn.JsonPath.string_at(image_at or f"{at}.image")
            ),
        },
        catch=catch,
    )


def publish(
    scope: Construct,
    name: str,
    topic: sns.ITopic,
    *,
    subject: str,
    message: sfn.TaskInput,
    message_attributes: dict[str, tasks.MessageAttribute] | None = None,
    catch: Catch | None = None,
    per_subscription_type: bool = False,
) -> tasks.SnsPublish:
    """A message to the topic, its result discarded; any error retried a few times, then
    caught by `catch` when given. `per_subscription_type`: `message` holds a form per
    protocol (`per_protocol`)."""
    step = tasks.SnsPublish(
        scope,
        name,
        topic=topic,
        subject=subject,
        message=message,
        message_attributes=message_attributes,
        message_per_subscription_type=per_subscription_type or None,
        result_path=sfn.JsonPath.DISCARD,
    )
    return guard(step, retries=(SNS_RETRY,), catch=catch)


def publish_text(
    scope: Construct,
    name: str,
    topic: sns.ITopic,
    *,
    subject: str,
    text: str,
    next_step: str,
    thread: str = RUN_THREAD,
    catch: Catch | None = None,
    chat: bool = False,
) -> sfn.Chain:
    """A plain message written by the state machine itself (`text`, a States.Format), for
    when no function could write it. With `chat`, a Pass state first puts its chat form
    together in the state (the description is `text`; `next_step` says what to do), so that
    the chat form is JSON whatever the text quotes."""
    if not chat:
        return sfn.Chain.start(
            publish(
                scope,
                name,
                topic,
                subject=subject,
                message=sfn.TaskInput.from_text(text),
                catch=catch,
            )
        )
    form = sfn.Pass(
        scope,
        f"Write the chat form of: {name}",
        parameters={
            "version": VERSION,
            "source": SOURCE,
            "content": {
                "textType": TEXT_TYPE,
                "title": subject,
                "description": text,
                "nextSteps": [next_step],
            },
            "metadata": {"threadId": thread, "summary": subject},
        },
        result_path=CHAT_FALLBACK,
    )
    send = publish(
        scope,
        name,
        topic,
        subject=subject,
        message=per_protocol(
            text, sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(CHAT_FALLBACK))
        ),
        per_subscription_type=True,
        catch=catch,
    )
    return form.next(send)


def per_protocol(email: str, chat: str) -> sfn.TaskInput:
    """SNS's message per protocol: the e-mail's text for `email`, the chat form for `https`
    (the chat service's subscription) and as `default` (every other protocol)."""
    return sfn.TaskInput.from_object({"default": chat, "email": email, "https": chat})


def chat_request(chat: bool) -> dict[str, bool]:
    """The report functions' input flag asking for the chat form (nothing without chat)."""
    return {ASKED: True} if chat else {}
