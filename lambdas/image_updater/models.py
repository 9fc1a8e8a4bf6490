"""The data that travels through the workflow, as small typed records.

NamedTuples rather than pydantic or dataclasses: every handler imports this module, and keeping
Lambda cold start near a bare `import boto3` is a project target (see the README's bench); a
frozen dataclass costs about half a millisecond to create on Python 3.11 (its methods are
compiled one by one), a NamedTuple a tenth of that, and each is as immutable.
JSON keys are camelCase, the Step Functions convention; Python names are snake_case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from image_updater.errors import InvalidExecutionInput, shortened

# Image states are an open set: anything not listed here is treated as "still changing".
AVAILABLE = "AVAILABLE"
FAILED = "FAILED"
SETTLED_STATES = frozenset({AVAILABLE, FAILED, "DELETING", "COPYING"})

# Decisions of the check step (and of the create step, which looks again).
UPDATE = "UPDATE"
FOLLOW = "FOLLOW"
NO_UPDATE = "NO_UPDATE"
# An update an earlier run started has settled and was never reported: report it now.
LATE_REPORT = "LATE_REPORT"

# Outcomes of one image's run.
SUCCEEDED = "SUCCEEDED"
TIMED_OUT = "TIMED_OUT"
REJECTED = "REJECTED"  # the run's input was refused before any image was looked at
# The run could not check (see update/messages/could_not_check.py): not a failure, despite the name
# (kept: subscribers filter on it). Also "update not confirmed", which is a failure.
CHECK_FAILED = "CHECK_FAILED"
REPORTED_ELSEWHERE = "REPORTED_ELSEWHERE"  # another run sent this image's final report
# The outcome a settled image's final report tells.
FINAL_OUTCOMES = {AVAILABLE: SUCCEEDED, FAILED: FAILED}

# What one image's record carries into the workflow's state, whatever AppStream returns:
# a state's data is capped at 256 KiB, and every e-mail must still go out.
IMAGE_ERRORS_MAX = 10
IMAGE_TEXT_MAX = 500


_Record = TypeVar("_Record")
_Reads = Callable[[type[_Record], dict[str, Any]], _Record]


def event_reader(kind: str) -> Callable[[_Reads[_Record]], classmethod[_Record, [Any], _Record]]:
    """Makes a record's `from_event` classmethod from how the record reads its keys: for a
    record a step receives as its event, it refuses anything but a JSON object with the
    record's keys (InvalidExecutionInput, naming the record's `kind` and what is wrong)."""

    def reader(read: _Reads[_Record]) -> classmethod[_Record, [Any], _Record]:
        def from_event(cls: type[_Record], event: Any) -> _Record:
            if not isinstance(event, dict):
                raise InvalidExecutionInput(f"expected a JSON object, got {type(event).__name__}")
            try:
                return read(cls, event)
            except (KeyError, TypeError, ValueError) as error:
                problem = f"malformed {kind} {event!r:.300}: {error!r}"
                raise InvalidExecutionInput(problem) from error

        return classmethod(from_event)

    return reader


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _to_json(fields: dict[str, Any]) -> dict[str, Any]:
    return {_camel(k): v for k, v in fields.items() if v is not None}


class ImageError(NamedTuple):
    code: str
    message: str
    timestamp: str | None = None


class ImageSummary(NamedTuple):
    """What the e-mails and decisions need from AppStream's `Image` shape."""

    # Named as the workflow's JSON names them; AppStream's own member names in the comments.
    name: str
    arn: str  # Arn (what ListTagsForResource takes)
    state: str  # an open set (see SETTLED_STATES)
    created_time: str | None = None  # CreatedTime, ISO 8601
    platform: str | None = None
    agent_version: str | None = None  # AppstreamAgentVersion
    description: str | None = None
    base_image_released: str | None = None  # PublicBaseImageReleasedDate, ISO 8601
    reason_code: str | None = None  # StateChangeReason.Code, an open set
    reason_message: str | None = None  # StateChangeReason.Message, shortened
    errors: tuple[ImageError, ...] = ()  # ImageErrors, the first IMAGE_ERRORS_MAX
    more_errors: int = 0  # image errors beyond the ones kept

    @classmethod
    def from_appstream(cls, image: dict[str, Any]) -> ImageSummary:
        reason = image.get("StateChangeReason") or {}
        return cls(
            name=image["Name"],
            arn=image["Arn"],
            state=image.get("State", "UNKNOWN"),
            created_time=_iso(image.get("CreatedTime")),
            platform=image.get("Platform"),
            agent_version=image.get("AppstreamAgentVersion"),
            description=image.get("Description"),
            base_image_released=_iso(image.get("PublicBaseImageReleasedDate")),
            reason_code=reason.get("Code"),
            reason_message=_short(reason.get("Message")),
            errors=tuple(
                ImageError(
                    code=e.get("ErrorCode", "UNKNOWN"),
                    message=_short(e.get("ErrorMessage")) or "",
                    timestamp=_iso(e.get("ErrorTimestamp")),
                )
                for e in (image.get("ImageErrors") or ())[:IMAGE_ERRORS_MAX]
            ),
            more_errors=max(0, len(image.get("ImageErrors") or ()) - IMAGE_ERRORS_MAX),
        )

    def to_json(self) -> dict[str, Any]:
        data = _to_json(self._asdict())
        data["errors"] = [_to_json(e._asdict()) for e in self.errors]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageSummary:
        errors = tuple(
            ImageError(code=e["code"], message=e["message"], timestamp=e.get("timestamp"))
            for e in data.get("errors", ())
        )
        return cls(
            name=data["name"],
            arn=data["arn"],
            state=data["state"],
            created_time=data.get("createdTime"),
            platform=data.get("platform"),
            agent_version=data.get("agentVersion"),
            description=data.get("description"),
            base_image_released=data.get("baseImageReleased"),
            reason_code=data.get("reasonCode"),
            reason_message=data.get("reasonMessage"),
            errors=errors,
            more_errors=int(data.get("moreErrors", 0)),
        )


def _short(text: Any) -> str | None:
    return None if text is None else shortened(str(text), IMAGE_TEXT_MAX)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


class Notification(NamedTuple):
    """An e-mail, ready for SNS Publish."""

    subject: str
    body: str
    outcome: str
    image: str
    failed: bool = False
    new_image_name: str | None = None

    def to_event(self) -> dict[str, Any]:
        # Every key present, even when null: the state machine's paths require them.
        return {_camel(k): v for k, v in self._asdict().items()}
