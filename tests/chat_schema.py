"""The custom-notification format of Amazon Q Developer in chat applications (formerly AWS
Chatbot), as a JSON Schema written from its documentation
(https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html, "Event schema" and
"Parameter details"): `version` must be "1.0" and `source` "custom" (both required); `id` is
optional; `content.textType` may only be "client-markdown"; `content.title`,
`content.description`, `content.nextSteps` and `content.keywords` are text and lists of text;
`metadata` carries `threadId`, `summary`, `eventType`, `relatedResources` and
`additionalContext` (an object of strings). No other member is documented, so none is allowed
here: a typo in a member's name fails the test instead of being dropped by the service.

The lengths are this project's caps (image_updater/domain/chat.py), stricter than anything the
chat service documents, and SNS's limit on a whole message (256 KiB) applies to what is
published: `validate_published` checks a message SNS would be given.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from image_updater.domain import chat
from image_updater.domain.messages import SUBJECT_MAX

TEXT = {"type": "string", "minLength": 1}
TEXTS = {"type": "array", "items": TEXT}

CUSTOM_NOTIFICATION: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "source", "content"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": "1.0"},
        "source": {"const": "custom"},
        "id": TEXT,
        "content": {
            "type": "object",
            "required": ["description"],
            "additionalProperties": False,
            "properties": {
                "textType": {"const": "client-markdown"},
                "title": {**TEXT, "maxLength": SUBJECT_MAX},
                "description": {**TEXT, "maxLength": chat.DESCRIPTION_MAX},
                "nextSteps": {
                    **TEXTS,
                    "items": {**TEXT, "maxLength": chat.NEXT_STEP_MAX},
                    "maxItems": chat.NEXT_STEPS_MAX,
                },
                "keywords": TEXTS,
            },
        },
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "threadId": {**TEXT, "maxLength": chat.THREAD_ID_MAX},
                "summary": TEXT,
                "eventType": TEXT,
                "relatedResources": TEXTS,
                "additionalContext": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
}

SNS_MESSAGE_MAX = 256 * 1024  # bytes, the whole published message


def validate_chat(text: str) -> dict[str, Any]:
    """The chat form `text` parsed, after checking it against the documented format."""
    message: dict[str, Any] = json.loads(text)
    jsonschema.validate(message, CUSTOM_NOTIFICATION)
    return message


def validate_published(message: str) -> dict[str, Any]:
    """A message published with a form per protocol (SNS MessageStructure=json): its forms,
    the chat form checked. SNS wants a JSON object of strings with a `default`."""
    assert len(message.encode("utf-8")) <= SNS_MESSAGE_MAX
    forms: dict[str, Any] = json.loads(message)
    assert isinstance(forms, dict) and "default" in forms
    assert all(isinstance(value, str) for value in forms.values())
    assert set(forms) == {"default", "email", "https"}
    assert forms["https"] == forms["default"]
    validate_chat(forms["default"])
    return forms
