"""The AppStream client and the translation of its errors into the named errors the state
machine retries or reports. Only the modules of this package call AppStream."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from image_updater.errors import (
    AppStreamBusy,
    AppStreamThrottled,
    AppStreamUnreachable,
    ImageUpdaterError,
    UpdateNotPermitted,
    UpdateQuotaExceeded,
)

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient

PAGE_SIZE = 25  # DescribeImages' and DescribeImageBuilders' maximum
# RequestLimitExceededException is the one AppStream's model defines; the others are what
# AWS's front ends answer for any service.
_THROTTLING_CODES = frozenset(
    {
        "RequestLimitExceededException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
# A network failure (what is left of it once a read's SDK retries are spent).
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
_REFUSAL_CODES = frozenset(
    {
        "IncompatibleImageException",
        "OperationNotPermittedException",
        "InvalidAccountStatusException",
    }
)


CallKind = Literal["read", "change"]
_RETRIES: dict[CallKind, Config] = {
    # Reads (Describe*, ListTagsForResource, a dry run) are safe to repeat: the SDK re-sends
    # them on throttling, 5xx and network errors (standard mode).
    "read": Config(retries={"mode": "standard"}),
    # Changes (CreateUpdatedImage, UpdateFleet, DeleteImage, tagging) are sent once. The
    # standard mode would re-send one refused with LimitExceededException or a 5xx at once,
    # without the lock and the fresh look each step takes first; the state machine retries
    # the whole step instead (these errors become the named errors it retries).
    "change": Config(retries={"mode": "standard", "total_max_attempts": 1}),
}


def client_config(kind: CallKind) -> Config:
    """The SDK configuration for one kind of call (also for clients a command builds from its
    own session)."""
    return _RETRIES[kind]


@cache
def default_client(kind: CallKind = "read") -> AppStreamClient:
    """The client for one kind of call. Created on first use, not at import: keeps cold start
    lean and lets tests install their simulation before any client exists."""
    return boto3.client("appstream", config=_RETRIES[kind])


class Clients:
    """The read and change clients of an adapter, each created when first used; or one given
    client for both (a test double, or a session's client from a command)."""

    def __init__(self, given: AppStreamClient | None) -> None:
        self._given = given

    @property
    def reads(self) -> AppStreamClient:
        return self._given or default_client("read")

    @property
    def changes(self) -> AppStreamClient:
        return self._given or default_client("change")


class ImageNotFound(ImageUpdaterError):
    """DescribeImages or CreateUpdatedImage did not find the named image."""


class NameAlreadyExists(ImageUpdaterError):
    """CreateUpdatedImage: an image with the new name exists already."""


class DeletionRefused(ImageUpdaterError):
    """DeleteImage: AppStream refused (in use, shared, being modified, not permitted)."""


# AppStream's error codes -> the named errors the state machine retries or reports.
ErrorsByCode = Mapping[str, type[ImageUpdaterError]]
IMAGE_ERRORS: ErrorsByCode = {
    "ResourceNotFoundException": ImageNotFound,
    "ResourceAlreadyExistsException": NameAlreadyExists,
    "LimitExceededException": UpdateQuotaExceeded,
    "ConcurrentModificationException": AppStreamBusy,
    **dict.fromkeys(_THROTTLING_CODES, AppStreamThrottled),
    **dict.fromkeys(_REFUSAL_CODES, UpdateNotPermitted),
}


@contextmanager
def translated_errors(named: ErrorsByCode = IMAGE_ERRORS) -> Iterator[None]:
    """AppStream's refusals as the named errors (`named`, by code), a 5xx or a network failure
    as AppStreamUnreachable; any other error as it is."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = f"{code}: {error.response.get('Error', {}).get('Message', '')}"
        if code in named:
            raise named[code](message) from error
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise AppStreamUnreachable(message) from error
        raise
    except _NETWORK_ERRORS as error:
        raise AppStreamUnreachable(f"{type(error).__name__}: {error}") from error


def pages(call: Callable[..., Any], **request: Any) -> Iterator[Any]:
    """Every page of a listing AppStream pages with NextToken, in order, each call's errors
    translated (the SDK has no paginator for some of them)."""
    token: str | None = None
    while True:
        with translated_errors():
            page = call(**request, NextToken=token) if token else call(**request)
        yield page
        token = page.get("NextToken")
        if not token:
            return
