"""An e-mail's chat form: the same message as an Amazon Q Developer in chat applications
(formerly AWS Chatbot) custom notification, for a Slack or Microsoft Teams channel.

Derived from the composed e-mail, never written twice: the title is its subject, the
description its first paragraph (what happened), the next steps what it says to do (its "What
to do:" or "Next:" paragraph, one step per numbered item; each "To approve:"-like instruction
with its commands) and the run's link; `metadata.threadId` names the image's lineage, so one
image's messages thread together in the channel (the run-level e-mails, the breaker's pause and
a refused run, share one thread of their own).

The format (docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html): `version` "1.0",
`source` "custom", `content` (`textType` "client-markdown", `title`, `description`, `nextSteps`,
`keywords`) and `metadata` (`threadId`, `summary`, `eventType`, `relatedResources`,
`additionalContext`). The documentation gives no lengths: the caps below are this project's,
to keep a post readable (3,000 characters is what Slack's Block Kit allows in one section's
text); the e-mail keeps the whole text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from image_updater.models import Notification

VERSION = "1.0"
SOURCE = "custom"
TEXT_TYPE = "client-markdown"
DESCRIPTION_MAX = 3000
NEXT_STEPS_MAX = 6
NEXT_STEP_MAX = 500
THREAD_ID_MAX = 128
# An e-mail about a run rather than an image says image "-".
RUN_LEVEL = "-"
RUN_THREAD = "AppStreamImageUpdater-run"

_WHAT_TO_DO = re.compile(r"^(?:What to do|Next):\s*", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*\d+\.\s+")
# "To approve (...):" ending a line, at its start or after a sentence.
_INSTRUCTION = re.compile(r"(?:^|\.\s+)(To .+:)\s*$")
# The run's link, as the e-mails label it ("Run:" in the distributed e-mail).
_RUN_LINK = re.compile(r"^(?:This run in Step Functions|Run):\s+(https://\S+)", re.MULTILINE)


def chat_message(notification: Notification) -> str:
    """The chat form of `notification`, as the JSON text SNS carries."""
    return json.dumps(chat_content(notification), ensure_ascii=False, separators=(",", ":"))


def chat_content(notification: Notification) -> dict[str, Any]:
    paragraphs = [p.strip() for p in notification.body.split("\n\n") if p.strip()]
    steps = _next_steps(paragraphs)
    run_link = _RUN_LINK.search(notification.body)
    if run_link:
        steps.append(f"Open this run in Step Functions: {run_link.group(1)}")
    content: dict[str, Any] = {
        "textType": TEXT_TYPE,
        "title": notification.subject,
        "description": _capped(
            paragraphs[0] if paragraphs else notification.subject, DESCRIPTION_MAX
        ),
        "keywords": [k for k in (notification.outcome, _image(notification)) if k],
    }
    if steps:
        content["nextSteps"] = [_capped(step, NEXT_STEP_MAX) for step in steps[:NEXT_STEPS_MAX]]
    return {
        "version": VERSION,
        "source": SOURCE,
        "content": content,
        "metadata": {
            "threadId": thread_id(notification.image),
            "summary": notification.subject,
            "eventType": notification.outcome,
        },
    }


def thread_id(image: str) -> str:
    """One thread per lineage (the configured image's name); run-level messages share one."""
    if not image or image == RUN_LEVEL:
        return RUN_THREAD
    return _capped(f"AppStreamImageUpdater-{image}", THREAD_ID_MAX, ellipsis="")


def _image(notification: Notification) -> str | None:
    return None if notification.image == RUN_LEVEL else notification.image


def _next_steps(paragraphs: list[str]) -> list[str]:
    """What the e-mail says to do: its "What to do:" (or "Next:") paragraph, one step per
    numbered item, and each "To ...:" instruction with the commands indented under it."""
    steps: list[str] = []
    for paragraph in paragraphs:
        if _WHAT_TO_DO.match(paragraph):
            steps += _items(_WHAT_TO_DO.sub("", paragraph, count=1).splitlines())
        elif _INSTRUCTION.search(paragraph.splitlines()[0]):
            steps += _instructions(paragraph.splitlines())
    return steps


def _items(lines: list[str]) -> list[str]:
    """Numbered items, one step each (an item's indented lines go with it); else one step."""
    if not any(_NUMBERED.match(line) for line in lines):
        return [" ".join(line.strip() for line in lines if line.strip())]
    steps: list[str] = []
    for line in lines:
        if _NUMBERED.match(line):
            steps.append(_NUMBERED.sub("", line, count=1).strip())
        elif steps:
            steps[-1] = f"{steps[-1]} {line.strip()}"
    return steps


def _instructions(lines: list[str]) -> list[str]:
    """Each "To <do something>:" line, with the commands indented under it as code."""
    steps: list[str] = []
    for line in lines:
        instruction = _INSTRUCTION.search(line)
        if instruction and not line.startswith(" "):
            steps.append(instruction.group(1))
        elif steps and line.strip():
            steps[-1] = f"{steps[-1]} `{line.strip()}`"
    return steps


def _capped(text: str, limit: int, ellipsis: str = "...") -> str:
    return text if len(text) <= limit else text[: limit - len(ellipsis)] + ellipsis


# The flag in a report function's input: the workflow publishes this deployment's e-mails with
# their chat form (a chat channel is configured), so the function writes it too.
ASKED = "chat"


def notification_event(notification: Notification, request: dict[str, Any]) -> dict[str, Any]:
    """The e-mail as the state machine reads it, with its chat form at `chat` when `request`
    (the function's input) asks for it."""
    event = notification.to_event()
    if request.get(ASKED) is True:
        event["chat"] = chat_message(notification)
    return event
