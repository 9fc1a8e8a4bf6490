"""What a run left in moto, read back: the execution's history, the topic's e-mails and the
events published on the default bus."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

from rehearsal.runner.clients import client
from rehearsal.runner.execution import Email
from rehearsal.runner.live import ACCOUNT, REGION


def execution_history(execution_arn: str) -> list[dict[str, Any]]:
    """The execution's whole history, as GetExecutionHistory returns it (every page), read
    from moto's interpreter: serializing it through the API costs more than the run."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    events = backend.get_execution_history(execution_arn)["events"]

    def as_api_returns(event: Any) -> dict[str, Any]:
        plain: dict[str, Any] = json.loads(
            json.dumps(event, default=lambda v: v.value if isinstance(v, Enum) else str(v))
        )
        plain["timestamp"] = datetime.fromisoformat(plain["timestamp"].replace("Z", "+00:00"))
        return plain

    return [as_api_returns(event) for event in events]


def sent_emails(topic_arn: str) -> list[Email]:
    """What the topic sent, as moto recorded it."""
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT][REGION].topics.get(topic_arn)
    if topic is None:  # a test deleted it to make publishing fail
        return []
    return [
        Email(
            subject=subject or "",
            body=message,
            attributes={k: v["Value"] for k, v in (attributes or {}).items()},
        )
        for _, message, subject, attributes, _ in topic.sent_notifications
    ]


EVENTS_QUEUE = "published-events"


def capture_published_events() -> None:
    """A rule on the default bus that sends every event of the updater's source to a queue,
    as a subscriber would (call inside moto, before the events are published)."""
    from image_updater.events import SOURCE

    client("sqs").create_queue(QueueName=EVENTS_QUEUE)
    events = client("events")
    events.put_rule(Name=EVENTS_QUEUE, EventPattern=json.dumps({"source": [SOURCE]}))
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{EVENTS_QUEUE}"
    events.put_targets(Rule=EVENTS_QUEUE, Targets=[{"Id": "queue", "Arn": queue_arn}])


def published_events() -> list[dict[str, Any]]:
    """What `capture_published_events`'s queue received, in order (each message once)."""
    sqs = client("sqs")
    queue_url = sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]
    received: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        received += [json.loads(message["Body"]) for message in messages]
        # Deleted, not left to the visibility timeout (30 s of the machine's time, which a
        # loaded machine spends within one simulated week): else a later call returns it again.
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
            ],
        )
    return received
