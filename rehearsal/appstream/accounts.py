"""Other accounts, reached through a role the caller assumed (STS AssumeRole across accounts):
the hub's retention reading a spoke through the reader role the spoke stack created.

moto answers AssumeRole itself: its credentials carry an access key that moto maps to the
role's account, so moto's DynamoDB answers a client signed with them from that account's
tables (the spoke's ledger). This module adds, at the HTTP layer (`before-send`):
- AssumeRole of a role no simulated account created, or one scripted to fail, is refused
  with STS's own error (AccessDenied, Throttling, ...), as AWS would answer it;
- an AppStream request signed with an assumed role's key is answered by that account's
  simulation (its images, fleets, image builders), not by the activated one.
What is not simulated: IAM policy evaluation (the trust policy's `aws:PrincipalArn`, the
reader role's own permissions); the infra tests hold the templates to those.

    organisation = Organisation(hub)
    spoke = organisation.account("444455556666")
    organisation.create_role(reader_role_arn("aws", "444455556666", "us-east-1"))
    with hub.active(), organisation.active():
        ...
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.handlers  # type: ignore[import-untyped, unused-ignore]
from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped, unused-ignore]
from botocore.compat import HTTPHeaders  # type: ignore[import-untyped, unused-ignore]

from rehearsal.appstream import wire
from rehearsal.appstream.hooks import _CONTEXT_KEY, _answer_request
from rehearsal.appstream.simulation import SimulatedAppStream

_ACCESS_KEY = re.compile(r"Credential=([^/]+)/")
_STATUS = {"AccessDenied": 403, "Throttling": 400, "RegionDisabledException": 403}


class Organisation:
    """The activated simulation's account (`home`) and the other accounts it reaches."""

    def __init__(self, home: SimulatedAppStream) -> None:
        self.home = home
        self._accounts: dict[str, SimulatedAppStream] = {}
        self._roles: set[str] = set()
        self._refusals: dict[str, tuple[str, str]] = {}
        self.assumed: list[str] = []  # every role AssumeRole was asked for, in order

    def account(self, account_id: str, region: str | None = None) -> SimulatedAppStream:
        """Another account's simulation (created empty when first asked for), in `region`
        (by default the home's)."""
        found = self._accounts.get(account_id)
        if found is None:
            found = SimulatedAppStream(
                account_id=account_id,
                region=self.home.region,
                partition=self.home.partition,
                clock=self.home._clock,
            )
            self._accounts[account_id] = found
        return found if region in (None, found.region) else found.in_region(region)

    def create_role(self, arn: str) -> None:
        """The role `arn` exists in its account (its stack was deployed)."""
        self._roles.add(arn)

    def refuse_assume_role(self, arn: str, code: str, message: str) -> None:
        """AssumeRole of `arn` fails with STS's `code` (e.g. Throttling, AccessDenied)."""
        self._refusals[arn] = (code, message)

    @property
    def violations(self) -> list[str]:
        return [v for sim in self._accounts.values() for v in sim.violations]

    @contextmanager
    def active(self) -> Iterator[Organisation]:
        with _activation.lock:
            _activation.organisation = self
        try:
            yield self
        finally:
            with _activation.lock:
                _activation.organisation = None

    def _assume_role(self, request: Any) -> AWSResponse | None:
        body = request.body
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        form = parse_qs(text)
        if form.get("Action") != ["AssumeRole"]:
            return None
        arn = form.get("RoleArn", [""])[0]
        self.assumed.append(arn)
        refusal = self._refusals.get(arn)
        if refusal is None and arn not in self._roles:
            refusal = (
                "AccessDenied",
                f"User: arn:aws:sts::{self.home.account_id}:assumed-role/caller is not "
                f"authorized to perform: sts:AssumeRole on resource: {arn}",
            )
        return None if refusal is None else _sts_error(request.url, *refusal)

    def _account_of(self, request: Any) -> SimulatedAppStream | None:
        from moto.iam.models import get_account_id_from

        match = _ACCESS_KEY.search(str(request.headers.get("Authorization", "")))
        if match is None:
            return None
        return self._accounts.get(get_account_id_from(match.group(1)))


class _Activation:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.organisation: Organisation | None = None


_activation = _Activation()


def _sts_error(url: str, code: str, message: str) -> AWSResponse:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    headers = HTTPHeaders()
    headers["Content-Type"] = "text/xml"
    headers["Content-Length"] = str(len(body))
    return AWSResponse(url, _STATUS.get(code, 400), headers, wire._Body(body))


def _answer_sts(request: Any, **_: Any) -> AWSResponse | None:
    organisation = _activation.organisation
    return None if organisation is None else organisation._assume_role(request)


def _answer_as_the_account(request: Any, **_: Any) -> AWSResponse | None:
    """An AppStream request signed with another simulated account's key: that account's."""
    organisation = _activation.organisation
    if organisation is None:
        return None
    account = organisation._account_of(request)
    if account is None:
        return None
    call = request.context.get(_CONTEXT_KEY)
    wire.answering(account._pause_before_resend)
    attempt = request.context.get("retries", {}).get("attempt", 1)
    return account._answer(call, request.url, attempt)


def install_account_hooks() -> None:
    """Before the activated simulation's own answer (same event: registration order), and
    before moto's catch-all `before-send` (a more specific event is emitted to first)."""
    handlers = botocore.handlers.BUILTIN_HANDLERS
    route = ("before-send.appstream", _answer_as_the_account)
    if route not in handlers:
        handlers.insert(handlers.index(("before-send.appstream", _answer_request)), route)
    if ("before-send.sts", _answer_sts) not in handlers:
        handlers.append(("before-send.sts", _answer_sts))


install_account_hooks()
