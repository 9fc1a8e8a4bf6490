"""The rehearsal's own clients are built once per default session (rehearsal/runner/clients.py),
and again from a new one: a client of an older session may lack a hook added since."""

from __future__ import annotations

import boto3
import pytest

from rehearsal.runner.clients import client
from rehearsal.runner.live import REGION


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # As the runner's deployment sets them (a client resolves its credentials when built).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_a_client_is_built_once_per_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a default session
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.Session())
    # When the same service's client is asked for twice / Then it is the same client, in the
    # rehearsal's Region; another service has its own
    first = client("sqs")
    assert client("sqs") is first
    assert first.meta.region_name == REGION
    assert client("sns") is not first
    assert client("sns").meta.service_model.service_name == "sns"
    # When boto3's default session is replaced / Then the client is built from the new one
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.Session())
    assert client("sqs") is not first
    assert client("sqs") is client("sqs")


def test_without_a_default_session_one_is_set_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    built = client("sqs")
    assert boto3.DEFAULT_SESSION is not None
    assert client("sqs") is built
