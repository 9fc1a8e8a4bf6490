"""The rehearsal's own SDK clients (deploying, reading and restoring the account around each
run), built once per default session instead of about a dozen times per run: building a client
costs several milliseconds (its service model, a copy of the session's event handlers), a
sizeable part of a run. A client holds no state of a run: moto answers it (its stubber is one of
botocore's built-in handlers, active only while a mock is), and the simulation that answers
AppStream is whichever is active. When boto3's default session is replaced (a built-in handler
was added: rehearsal/appstream/hooks.py), the clients are built again from the new one."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from rehearsal.runner.live import REGION

_KEPT: dict[str, tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def client(service: str) -> Any:
    """`boto3.client(service)` in the rehearsal's Region, from boto3's default session."""
    with _LOCK:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session: Any = boto3.DEFAULT_SESSION
        kept = _KEPT.get(service)
        if kept is None or kept[0] is not session:
            kept = _KEPT[service] = (session, session.client(service, region_name=REGION))
        return kept[1]
