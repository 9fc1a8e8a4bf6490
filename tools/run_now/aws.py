"""The deployed stack as the commands find it, and whose problem an AWS error is."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachable

from tools.run_now.errors import ENVIRONMENT, ToolError

DEFAULT_STACK = "AppStreamImageUpdater"
AWS_ERRORS = (BotoCoreError, ClientError)
SessionFactory = Callable[..., boto3.Session]

# Codes with which AWS refuses credentials that expired (the ones the SDKs refresh on) or that
# it does not recognise: the fix is on this machine, not in the stack.
_CREDENTIALS_REFUSED = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidToken",
        "AuthFailure",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)
# botocore's own failures to load or refresh credentials (SSO sessions, credential_process).
_CREDENTIALS_UNAVAILABLE = (CredentialRetrievalError, TokenRetrievalError, SSOError)
_CONSOLE_DOMAINS = {"aws-cn": "console.amazonaws.cn", "aws-us-gov": "console.amazonaws-us-gov.com"}
# A stack in one of these has no usable state machine: it must be fixed and deployed again.
_FAILED_STACK = frozenset(
    {"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"}
)


@dataclass(frozen=True)
class Stack:
    state_machine_arn: str
    images: tuple[str, ...]
    outputs: dict[str, str] = field(default_factory=dict)


def signed_in_session(
    args: argparse.Namespace, session_factory: SessionFactory, *, region_needed: bool = True
) -> boto3.Session:
    """The session of --profile / --region, refused before anything reaches AWS when it has
    no Region (where one is needed) or no credentials."""
    session = session_factory(profile_name=args.profile, region_name=args.region)
    if region_needed and session.region_name is None:
        raise ToolError("No AWS Region: pass --region or set AWS_REGION.", ENVIRONMENT)
    if session.get_credentials() is None:
        raise ToolError(
            "No AWS credentials found: run `aws configure`, `aws sso login`, or set AWS_PROFILE.",
            ENVIRONMENT,
        )
    return session


def find_stack(session: boto3.Session, name: str) -> Stack:
    cloudformation = session.client("cloudformation")
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise ToolError(
                f"Stack {name!r} was not found in {session.region_name}. Deploy it with "
                "`npx cdk deploy`, or pass --stack / --region.",
                ENVIRONMENT,
            ) from error
        raise
    status = stack.get("StackStatus", "")
    if status.endswith("_IN_PROGRESS"):
        doing = "deleted" if status.startswith("DELETE") else "deployed"
        raise ToolError(
            f"Stack {name!r} is being {doing} ({status}). Try again when that has finished.",
            ENVIRONMENT,
        )
    if status in _FAILED_STACK:
        raise ToolError(
            f"Stack {name!r} failed to deploy ({status}). See its events in the CloudFormation "
            "console, fix the cause and deploy again with `npx cdk deploy`.",
            ENVIRONMENT,
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "StateMachineArn" not in outputs:
        raise ToolError(
            f"Stack {name!r} ({status}) has no StateMachineArn output: is it the image "
            "updater's stack? Pass --stack.",
            ENVIRONMENT,
        )
    images = tuple(i for i in outputs.get("ConfiguredImages", "").split(",") if i)
    return Stack(state_machine_arn=outputs["StateMachineArn"], images=images, outputs=outputs)


def stack_outputs(session: boto3.Session, stack: str) -> dict[str, str]:
    """The stack's outputs by key, without the checks `find_stack` makes for a run."""
    (found,) = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def problem(error: BotoCoreError | ClientError) -> str:
    """Whose problem it is: the credentials, the network, or AWS refusing the request."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return f"no usable AWS credentials ({error})"
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    if code in _CREDENTIALS_REFUSED or isinstance(error, _CREDENTIALS_UNAVAILABLE):
        return (
            f"the AWS credentials have expired or were not accepted ({error}). Refresh them "
            "(`aws sso login`, or new keys for the profile)."
        )
    if isinstance(error, EndpointUnreachable | HTTPClientError):
        return f"could not reach AWS (network): {error}. Check the connection, VPN or proxy."
    if isinstance(error, ClientError):
        return f"AWS refused: {error}"
    return f"the AWS SDK failed: {error}"


def console_link(execution_arn: str) -> str:
    """The execution's page in the Step Functions console, in the ARN's partition."""
    _, partition, _, region, *_ = execution_arn.split(":")
    domain = _CONSOLE_DOMAINS.get(partition, "console.aws.amazon.com")
    return (
        f"https://{region}.{domain}/states/home?region={region}"
        f"#/v2/executions/details/{quote(execution_arn, safe=':')}"
    )
