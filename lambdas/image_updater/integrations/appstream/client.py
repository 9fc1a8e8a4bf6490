"""The AppStream client and the translation of its errors into the named errors the state
machine retries or reports. Only the modules of this package call AppStream."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

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
# What is left of a network failure once the SDK's own retries are spent.
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


@cache
def default_client() -> AppStreamClient:
    """Created on first use, not at import: keeps cold start lean and lets tests install
    their simulation before any client exists."""
    return boto3.client("appstream", config=Config(retries={"mode": "standard"}))


class ImageNotFound(ImageUpdaterError):
    """DescribeImages or CreateUpdatedImage did not find the named image."""


class NameAlreadyExists(ImageUpdaterError):
    """CreateUpdatedImage: an image with the new name exists already."""


class DeletionRefused(ImageUpdaterError):
    """DeleteImage: AppStream refused (in use, shared, being modified, not permitted)."""


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = f"{code}: {error.response.get('Error', {}).get('Message', '')}"
        if code == "ResourceNotFoundException":
            raise ImageNotFound(message) from error
        if code == "ResourceAlreadyExistsException":
            raise NameAlreadyExists(message) from error
        if code == "LimitExceededException":
            raise UpdateQuotaExceeded(message) from error
        if code == "ConcurrentModificationException":
            raise AppStreamBusy(message) from error
        if code in _THROTTLING_CODES:
            raise AppStreamThrottled(message) from error
        if code in _REFUSAL_CODES:
            raise UpdateNotPermitted(message) from error
        raise
    except _NETWORK_ERRORS as error:
        raise AppStreamUnreachable(f"{type(error).__name__}: {error}") from error
