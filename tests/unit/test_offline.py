"""The suite runs offline (tests/conftest.py): a request that misses moto and the simulation
fails its test at once, and never reaches AWS."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import HTTPClientError

from tests import conftest


def test_a_client_outside_every_simulation_cannot_reach_aws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given credentials and a client that nothing intercepts
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.session.Session().client(
        "sqs", region_name="us-east-1", config=Config(retries={"max_attempts": 1})
    )
    # When it sends a request / Then it fails on the spot (botocore wraps the error)
    with pytest.raises(HTTPClientError, match=r"sqs\.us-east-1\.amazonaws\.com"):
        client.list_queues()
    # and the attempt is recorded, which fails the test at its end even if the code under test
    # caught the error (cleared here: this test expects it)
    assert set(conftest.attempts) == {"sqs.us-east-1.amazonaws.com"}
    conftest.attempts.clear()


def test_loopback_stays_open() -> None:
    # Given a listening socket on loopback / Then a test may still connect to it
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
