"""How the simulation answers botocore: at the HTTP layer, in the client's protocol, with
botocore's own re-sends and pauses, for one active simulation at a time."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from rehearsal.appstream import SimulatedAppStream, SimulationError
from tests.unit.simulation.support import ManualClock, error_code, new_client


def test_a_modeled_error_is_an_http_answer_that_botocore_parses(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.describe_images(Names=["Typo"])

    # Then botocore read the error from an HTTP answer: a 400, a request id, and the error
    # shape's own member (filled in only for an error the model defines)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RequestId"]
    assert response["Message"] == response["Error"]["Message"] == "Image Typo not found."


@pytest.mark.parametrize(
    ("code", "status"), [("ThrottlingException", 400), ("InternalFailure", 500)]
)
def test_injected_errors_carry_the_status_aws_answers_them_with(
    sim: SimulatedAppStream, code: str, status: int
) -> None:
    # Given a client that sends each call once
    sim.add_image("SalesApps")
    sim.fail("DescribeImages", code)
    client = new_client(Config(retries={"mode": "standard", "total_max_attempts": 1}))

    # When
    with pytest.raises(ClientError) as raised:
        client.describe_images(Names=["SalesApps"])

    # Then
    assert error_code(raised.value) == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize("protocol", ["json", "smithy-rpc-v2-cbor"])
def test_the_simulation_answers_in_the_protocol_the_client_speaks(
    sim: SimulatedAppStream, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    # Given a client that speaks `protocol` (AppStream's model offers both; botocore picks)
    import botocore.model

    preferred = (protocol, *botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS)
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", preferred)
    client = new_client()
    assert client.meta.service_model.resolved_protocol == protocol
    added = sim.add_image("SalesApps", description="Sales apps")

    # When
    images = client.describe_images(Names=["SalesApps"])["Images"]
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.describe_images(Names=["Typo"])

    # Then botocore parsed both answers, timestamps included
    assert images == [added]
    assert raised.value.response["Message"] == "Image Typo not found."


def test_botocore_pauses_before_a_re_send_on_the_simulations_terms(
    sim: SimulatedAppStream, client: Any, clock: ManualClock
) -> None:
    # Given a throttled first send, and pauses that pass on the test's clock
    sim.add_image("SalesApps")
    sim.fail_sends("DescribeImages", "ThrottlingException")

    # When
    with sim.pausing_with(lambda seconds: clock.advance(timedelta(seconds=seconds))):
        client.describe_images(Names=["SalesApps"])

    # Then the SDK re-sent the call after its pause, which passed on the clock, not for real
    (pause,) = sim.sdk_pauses
    first, resent = sim.calls
    assert (first.attempt, first.error, resent.attempt, resent.error) == (
        1,
        "ThrottlingException",
        2,
        None,
    )
    assert resent.timestamp == first.timestamp + timedelta(seconds=pause)


def test_an_unsupported_operation_is_loud(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(ClientError) as raised:
        client.start_image_builder(Name="SalesApps")

    # Then
    assert error_code(raised.value) == "UnsupportedOperation"
    assert sim.violations == ["StartImageBuilder: the simulation does not implement this operation"]
    assert "SalesApps" in sim.images


def test_an_invalid_response_from_the_simulation_is_an_error(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given: a script whose failure message breaks the Image shape's minimum length
    sim.add_image("SalesApps")
    sim.script_update("SalesApps", polls=1, outcome="FAILED", reason_message="")
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # When / Then
    with pytest.raises(SimulationError, match=r"StateChangeReason\.Message"):
        client.describe_images(Names=["SalesApps-1"])


def test_calls_from_many_threads_keep_their_own_parameters(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    names = [f"Image{index:02d}" for index in range(16)]
    for name in names:
        sim.add_image(name)
    answers: dict[str, list[str]] = {}

    def describe(name: str) -> None:
        thread_client = new_client()
        answers[name] = [
            image["Name"]
            for _ in range(5)
            for image in thread_client.describe_images(Names=[name])["Images"]
        ]

    # When
    threads = [threading.Thread(target=describe, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then
    assert answers == {name: [name] * 5 for name in names}
    assert len(sim.calls) == 16 * 5


def test_a_deactivated_simulation_does_not_intercept(clock: ManualClock) -> None:
    # Given
    sim = SimulatedAppStream(clock=clock)
    sim.add_image("SalesApps")
    with sim.active():
        new_client().describe_images(Names=["SalesApps"])
    unreachable = boto3.client(
        "appstream",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )

    # When
    with pytest.raises(EndpointConnectionError):
        unreachable.describe_images(Names=["SalesApps"])

    # Then
    assert len(sim.calls) == 1


def test_only_one_simulation_can_be_active(sim: SimulatedAppStream) -> None:
    # Given
    other = SimulatedAppStream()

    # When / Then
    with pytest.raises(SimulationError):
        other.activate()


class _Stopped(Exception):
    """Raised by a test's handler before anything is sent."""


def _stopper(name: str) -> Any:
    def stop(**_: Any) -> None:
        raise _Stopped(name)

    return stop


@pytest.mark.parametrize("first_extra", [None, "another library's"], ids=["none", "one"])
def test_a_handler_registered_after_activation_reaches_later_clients(
    monkeypatch: pytest.MonkeyPatch, first_extra: str | None
) -> None:
    # Given a simulation activated once (its default session is kept for speed), with the
    # built-in handlers of the moment (maybe one more, as many as there will be later)
    import botocore.handlers

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    original = list(botocore.handlers.BUILTIN_HANDLERS)
    if first_extra:
        extra = ("before-parameter-build.sqs", _stopper(first_extra))
        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [*original, extra])
    with SimulatedAppStream().active():
        first = boto3.DEFAULT_SESSION

    # When a library registers a built-in handler afterwards (as importing moto does)
    later = ("before-parameter-build.sqs", _stopper("moto's"))
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [*original, later])

    # Then the next activation's clients have it: a kept session would miss moto's stubber,
    # and its clients would reach the real AWS
    with SimulatedAppStream().active():
        assert boto3.DEFAULT_SESSION is not first
        client = boto3.client("sqs", region_name="us-east-1")
        with pytest.raises(_Stopped, match="moto's"):
            client.list_queues(QueueNamePrefix="x")
