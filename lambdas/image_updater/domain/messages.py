"""What every e-mail is made of, whichever capability sends it: the run's context (its
console links), the subject, dates, the label table, a caught error's name and cause, and
`email()`, which puts the parts of one e-mail together.

Plain text that reads well in any mail client, and a subject that names the image and the
outcome (SNS allows at most 100 printable ASCII characters). The e-mails themselves live with
their capability: `update/messages/` (one module per outcome), `rollout/messages.py`,
`approval/messages.py`, `breaker/messages.py`.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from image_updater.errors import shortened
from image_updater.models import Notification

SUBJECT_MAX = 99
PRODUCT = "AppStream image updater"
# An e-mail quotes at most this much of any one cause (the full text is in the run's history).
CAUSE_MAX = 1500


@dataclass(frozen=True)
class MessageContext:
    region: str
    partition: str
    execution_arn: str
    now: datetime
    max_update_hours: int
    # Where a ready image goes next, as the "ready" e-mail says it ("" when not distributed).
    distribution: str = ""

    @classmethod
    def of_run(
        cls, execution_arn: str, now: datetime, max_update_hours: int, distribution: str = ""
    ) -> MessageContext:
        """The context of the run `execution_arn` names: its partition and Region."""
        _, partition, _, region, *_ = execution_arn.split(":")
        return cls(region, partition, execution_arn, now, max_update_hours, distribution)

    @property
    def console(self) -> str:
        domain = {
            "aws-cn": "console.amazonaws.cn",
            "aws-us-gov": "console.amazonaws-us-gov.com",
        }.get(self.partition, "console.aws.amazon.com")
        return f"https://{self.region}.{domain}"

    def execution_url(self) -> str:
        return (
            f"{self.console}/states/home?region={self.region}"
            f"#/v2/executions/details/{quote(self.execution_arn, safe=':')}"
        )

    def images_url(self) -> str:
        return f"{self.console}/appstream2/home?region={self.region}#/images"

    def quotas_url(self) -> str:
        return f"{self.console}/servicequotas/home/services/appstream2/quotas?region={self.region}"


def email(
    subject: str,
    *paragraphs: str,
    outcome: str,
    image: str,
    failed: bool = False,
    new_image_name: str | None = None,
) -> Notification:
    """One e-mail: the subject made fit for SNS, and the body's paragraphs one blank line
    apart (an empty one is left out: a part with nothing to say), ending with a newline."""
    return Notification(
        subject=subject_line(subject),
        body="\n\n".join(paragraph for paragraph in paragraphs if paragraph) + "\n",
        outcome=outcome,
        image=image,
        failed=failed,
        new_image_name=new_image_name,
    )


def subject_line(text: str) -> str:
    printable = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return printable if len(printable) <= SUBJECT_MAX else printable[: SUBJECT_MAX - 3] + "..."


def when(value: str | datetime | None) -> str:
    if value is None:
        return "unknown"
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(value.replace("Z", "+00:00"))
    )
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def table(rows: list[tuple[str, str | None]]) -> str:
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label + ':':<{width}}{value}" for label, value in rows if value)


def error_details(error: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """Step Functions' Catch gives {"Error": name, "Cause": text or Lambda's JSON}."""
    if not error:
        return None, None
    name, cause = error.get("Error"), error.get("Cause")
    if isinstance(cause, str) and cause.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            cause = json.loads(cause).get("errorMessage", cause)
    return (
        shortened(str(name), 200) if name is not None else None,
        shortened(str(cause), CAUSE_MAX) if cause is not None else None,
    )
