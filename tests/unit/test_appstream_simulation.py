"""The AppStream simulation answers real boto3 clients the way AppStream would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from rehearsal.appstream import SimulatedAppStream, SimulationError

START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
ARN_PREFIX = "arn:aws:appstream:us-east-1:123456789012:image/"


class ManualClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatedAppStream]:
    simulation = SimulatedAppStream(clock=clock)
    with simulation.active():
        yield simulation


def new_client(config: Config | None = None) -> Any:
    return boto3.client(
        "appstream",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture
def client(sim: SimulatedAppStream) -> Any:
    return new_client()


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def state_of(client: Any, name: str) -> str:
    return str(client.describe_images(Names=[name])["Images"][0]["State"])


def test_describe_by_name_returns_the_image_as_added(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    added = sim.add_image("SalesApps", description="Sales apps", display_name="Sales")
    sim.add_image("Other")

    # When
    images = client.describe_images(Names=["SalesApps"])["Images"]

    # Then
    assert images == [added]
    assert added["Arn"] == ARN_PREFIX + "SalesApps"
    assert added["CreatedTime"] == START
    assert sim.violations == []


def test_an_unknown_name_raises_the_modeled_not_found_error(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.describe_images(Names=["SalesApps", "Typo"])

    # Then
    assert "Typo" in raised.value.response["Error"]["Message"]
    assert sim.calls[-1].error == "ResourceNotFoundException"


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


def test_a_cleared_failure_fails_no_further_call(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.fail("DescribeImages", "ResourceInUseException", calls=None)
    with pytest.raises(ClientError):
        client.describe_images(Names=["SalesApps"])

    # When
    sim.clear_failures("DescribeImages")

    # Then
    assert client.describe_images(Names=["SalesApps"])["Images"]


@pytest.mark.parametrize(("count", "page_sizes"), [(5, [2, 2, 1]), (4, [2, 2])])
def test_pagination_returns_every_image_exactly_once(
    sim: SimulatedAppStream, client: Any, count: int, page_sizes: list[int]
) -> None:
    # Given
    names = [f"Image{index}" for index in range(count)]
    for name in names:
        sim.add_image(name)

    # When
    pages = list(client.get_paginator("describe_images").paginate(PaginationConfig={"PageSize": 2}))

    # Then
    assert [len(page["Images"]) for page in pages] == page_sizes
    assert [image["Name"] for page in pages for image in page["Images"]] == names
    assert "NextToken" not in pages[-1]
    assert [call.params["MaxResults"] for call in sim.calls] == [2] * len(page_sizes)


def test_a_forged_next_token_is_a_validation_error(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(ClientError) as raised:
        client.describe_images(NextToken="not-a-token")

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert len(sim.violations) == 1


def test_the_type_filter_matches_visibility(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("Mine")
    sim.add_image("AppStream-WinServer2022-01-01-2026", visibility="PUBLIC")
    sim.add_image("FromPartner", visibility="SHARED")

    # When
    by_type = {
        kind: [i["Name"] for i in client.describe_images(Type=kind)["Images"]]
        for kind in ("PRIVATE", "PUBLIC", "SHARED")
    }

    # Then
    assert by_type == {
        "PRIVATE": ["Mine"],
        "PUBLIC": ["AppStream-WinServer2022-01-01-2026"],
        "SHARED": ["FromPartner"],
    }
    assert sim.images["AppStream-WinServer2022-01-01-2026"]["Arn"] == (
        "arn:aws:appstream:us-east-1::image/AppStream-WinServer2022-01-01-2026"
    )


def test_names_and_arns_together_are_refused(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    image = sim.add_image("SalesApps")

    # When
    with pytest.raises(client.exceptions.InvalidParameterCombinationException):
        client.describe_images(Names=["SalesApps"], Arns=[image["Arn"]])

    # Then
    assert sim.calls[-1].error == "InvalidParameterCombinationException"


def test_dry_run_reports_availability_and_creates_nothing(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps", updates_available=True)
    sim.add_image("UpToDate", updates_available=False)

    # When
    sales = client.create_updated_image(
        existingImageName="SalesApps", newImageName="SalesApps-1", dryRun=True
    )
    up_to_date = client.create_updated_image(
        existingImageName="UpToDate", newImageName="UpToDate-1", dryRun=True
    )

    # Then
    assert sales["canUpdateImage"] is True
    # AWS documents only the availability for a dry run: nothing may rely on an image
    assert "image" not in sales
    assert up_to_date["canUpdateImage"] is False
    assert sorted(sim.images) == ["SalesApps", "UpToDate"]
    assert sim.updates_in_progress() == []


def test_set_updates_available_changes_the_dry_run_answer(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps", updates_available=True)

    # When
    sim.set_updates_available("SalesApps", False)

    # Then
    answer = client.create_updated_image(
        existingImageName="SalesApps", newImageName="SalesApps-1", dryRun=True
    )
    assert answer["canUpdateImage"] is False


def test_an_update_becomes_available_on_the_third_poll_with_a_newer_agent(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    source = sim.add_image("SalesApps", agent_version="1.1.1000")

    # When
    created = client.create_updated_image(
        existingImageName="SalesApps",
        newImageName="SalesApps-20260105",
        newImageDescription="Updated by the image updater",
        newImageDisplayName="Sales apps",
        newImageTags={"image-updater:root": "SalesApps"},
    )
    listed = client.describe_images()["Images"]  # not naming the image: no poll
    states = [state_of(client, "SalesApps-20260105") for _ in range(3)]

    # Then
    image = created["image"]
    assert created["canUpdateImage"] is True
    assert image["State"] == "PENDING"
    assert image["BaseImageArn"] == source["Arn"]
    assert image["Description"] == "Updated by the image updater"
    assert image["DisplayName"] == "Sales apps"
    assert "ImageBuilderName" not in image
    assert [i["State"] for i in listed] == ["AVAILABLE", "PENDING"]
    assert states == ["PENDING", "PENDING", "AVAILABLE"]
    final = sim.images["SalesApps-20260105"]
    assert final["AppstreamAgentVersion"] == "1.1.1001"
    assert sim.tags("SalesApps-20260105") == {"image-updater:root": "SalesApps"}
    tags = client.list_tags_for_resource(ResourceArn=image["Arn"])["Tags"]
    assert tags == {"image-updater:root": "SalesApps"}
    assert sim.violations == []


def test_an_updated_image_has_no_further_updates(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update("SalesApps", polls=1)
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-2")
    state_of(client, "SalesApps-2")

    # When
    answer = client.create_updated_image(
        existingImageName="SalesApps-2", newImageName="SalesApps-3", dryRun=True
    )

    # Then
    assert answer["canUpdateImage"] is False


def test_a_scripted_failure_carries_its_reason_and_errors(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update(
        "SalesApps",
        polls=1,
        outcome="FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="Windows Update failed.",
        errors=[("INTERNAL_SERVICE_ERROR", "The image builder stopped.")],
    )
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # When
    image = client.describe_images(Names=["SalesApps-1"])["Images"][0]

    # Then
    assert image["State"] == "FAILED"
    assert image["StateChangeReason"] == {
        "Code": "IMAGE_UPDATE_FAILURE",
        "Message": "Windows Update failed.",
    }
    assert image["ImageErrors"] == [
        {
            "ErrorCode": "INTERNAL_SERVICE_ERROR",
            "ErrorMessage": "The image builder stopped.",
            "ErrorTimestamp": START,
        }
    ]
    assert sim.updates_in_progress() == []


def test_a_failure_without_listed_errors_reports_an_internal_service_error(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update("SalesApps", polls=1, outcome="FAILED")
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # When
    image = client.describe_images(Names=["SalesApps-1"])["Images"][0]

    # Then
    assert [error["ErrorCode"] for error in image["ImageErrors"]] == ["INTERNAL_SERVICE_ERROR"]


def test_a_timed_update_finishes_when_the_clock_says_so(
    sim: SimulatedAppStream, client: Any, clock: ManualClock
) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update("SalesApps", duration=timedelta(hours=2))
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # When
    early = [state_of(client, "SalesApps-1") for _ in range(5)]
    clock.advance(timedelta(hours=1, minutes=59))
    almost = state_of(client, "SalesApps-1")
    clock.advance(timedelta(minutes=1))
    due = state_of(client, "SalesApps-1")

    # Then
    assert early == ["PENDING"] * 5
    assert almost == "PENDING"
    assert due == "AVAILABLE"


def test_injected_errors_count_down_and_are_recorded(sim: SimulatedAppStream) -> None:
    # Given two calls that fail, sent by a client that sends each call at most 3 times
    sim.add_image("SalesApps")
    sim.fail("DescribeImages", "ThrottlingException", calls=2, message="Rate exceeded")
    client = new_client(Config(retries={"mode": "standard", "total_max_attempts": 3}))

    # When
    codes = []
    for _ in range(3):
        try:
            client.describe_images(Names=["SalesApps"])
            codes.append(None)
        except ClientError as error:
            codes.append(error_code(error))

    # Then each failing call failed on every send, and every send is recorded
    assert codes == ["ThrottlingException", "ThrottlingException", None]
    throttled = ("ThrottlingException",) * 3
    assert [call.error for call in sim.calls] == [*throttled, *throttled, None]
    assert [call.attempt for call in sim.calls] == [1, 2, 3, 1, 2, 3, 1]
    assert sim.calls[0].params == {"Names": ["SalesApps"]}
    assert sim.calls[0].timestamp == START


def test_injected_errors_can_target_some_calls(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.fail(
        "CreateUpdatedImage",
        "ConcurrentModificationException",
        calls=None,
        when=lambda params: not params.get("dryRun", False),
    )

    # When (ConcurrentModificationException is no error botocore re-sends)
    dry_run = client.create_updated_image(
        existingImageName="SalesApps", newImageName="SalesApps-1", dryRun=True
    )
    with pytest.raises(client.exceptions.ConcurrentModificationException):
        client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")
    with pytest.raises(client.exceptions.ConcurrentModificationException):
        client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # Then
    assert dry_run["canUpdateImage"] is True
    assert [call.error for call in sim.calls] == [
        None,
        "ConcurrentModificationException",
        "ConcurrentModificationException",
    ]
    assert "SalesApps-1" not in sim.images


def test_an_existing_name_is_refused(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.add_image("SalesApps-1")

    # When
    with pytest.raises(client.exceptions.ResourceAlreadyExistsException):
        client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # Then
    assert sim.updates_in_progress() == []


def test_the_concurrent_update_quota_is_enforced(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.set_quota(concurrent_updates=2)
    for name in ("A", "B", "C"):
        sim.add_image(name)
    client.create_updated_image(existingImageName="A", newImageName="A-1")
    client.create_updated_image(existingImageName="B", newImageName="B-1")

    # When
    with pytest.raises(client.exceptions.LimitExceededException):
        client.create_updated_image(existingImageName="C", newImageName="C-1")

    # Then
    assert sim.updates_in_progress() == ["A-1", "B-1"]
    assert sim.max_concurrent_updates_seen == 2


def test_a_finished_update_frees_its_place_in_the_quota(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.set_quota(concurrent_updates=1)
    sim.add_image("A")
    sim.add_image("B")
    sim.script_update("A", polls=1)
    client.create_updated_image(existingImageName="A", newImageName="A-1")
    state_of(client, "A-1")

    # When
    created = client.create_updated_image(existingImageName="B", newImageName="B-1")

    # Then
    assert created["image"]["State"] == "PENDING"
    assert sim.max_concurrent_updates_seen == 1


def test_the_image_quota_is_enforced(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.set_quota(images=2)
    sim.add_image("A")
    sim.add_image("B")
    sim.add_image("AppStream-WinServer2022-01-01-2026", visibility="PUBLIC")  # not ours

    # When
    with pytest.raises(client.exceptions.LimitExceededException) as raised:
        client.create_updated_image(existingImageName="A", newImageName="A-1")

    # Then
    assert "images" in raised.value.response["Error"]["Message"]
    assert "A-1" not in sim.images


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"newImageDescription": "d" * 300}, "less than or equal to 256"),
        ({"newImageDisplayName": "n" * 101}, "less than or equal to 100"),
        ({"newImageName": "Sales Apps"}, "regular expression pattern"),
        ({"newImageTags": {"aws:reserved": "x"}}, "regular expression pattern"),
        ({"newImageTags": {}}, "greater than or equal to 1"),
    ],
)
def test_service_side_constraints_are_enforced_and_recorded(
    sim: SimulatedAppStream, client: Any, overrides: dict[str, Any], constraint: str
) -> None:
    # Given
    sim.add_image("SalesApps")
    params = {"existingImageName": "SalesApps", "newImageName": "SalesApps-1", **overrides}

    # When
    with pytest.raises(ClientError) as raised:
        client.create_updated_image(**params)

    # Then: unmodeled, so a plain ClientError
    assert type(raised.value) is ClientError
    assert error_code(raised.value) == "ValidationException"
    assert len(sim.violations) == 1
    assert constraint in sim.violations[0]
    assert sim.updates_in_progress() == []


def test_describe_images_max_results_above_25_is_a_violation(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(ClientError) as raised:
        client.describe_images(MaxResults=26)

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert "MaxResults" in sim.violations[0]


def test_reserved_name_prefixes_are_a_violation(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(ClientError) as raised:
        client.create_updated_image(existingImageName="SalesApps", newImageName="AWSSales")

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert "AWSSales" in sim.violations[0]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({"visibility": "SHARED"}, "OperationNotPermittedException"),
        ({"visibility": "PUBLIC"}, "OperationNotPermittedException"),
        ({"platform": "AMAZON_LINUX2"}, "IncompatibleImageException"),
        ({"state": "PENDING"}, "OperationNotPermittedException"),
    ],
)
def test_images_that_cannot_be_updated_are_refused(
    sim: SimulatedAppStream, client: Any, image: dict[str, Any], expected: str
) -> None:
    # Given
    sim.add_image("Source", **image)

    # When
    with pytest.raises(getattr(client.exceptions, expected)):
        client.create_updated_image(
            existingImageName="Source", newImageName="Source-1", dryRun=True
        )

    # Then
    assert sim.calls[-1].error == expected
    assert sim.violations == []


def test_untagged_and_unknown_resources(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    image = sim.add_image("SalesApps")

    # When
    tags = client.list_tags_for_resource(ResourceArn=image["Arn"])["Tags"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(ResourceArn=ARN_PREFIX + "Missing")

    # Then
    assert tags == {}


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


def test_add_image_refuses_what_appstream_could_not_return() -> None:
    # Given
    sim = SimulatedAppStream()

    # When / Then
    with pytest.raises(ValueError, match="AppstreamAgentVersion"):
        sim.add_image("SalesApps", agent_version="")


@pytest.mark.parametrize(
    ("platform", "updatable"),
    [
        ("WINDOWS_SERVER_2022", True),
        ("WINDOWS_SERVER_2025", True),
        ("RHEL8", True),
        ("ROCKY_LINUX8", True),
        ("AMAZON_LINUX2", False),
        ("UBUNTU_PRO_2404", False),
    ],
)
def test_managed_updates_are_offered_for_the_documented_platforms(
    sim: SimulatedAppStream, client: Any, platform: str, updatable: bool
) -> None:
    # Given an image of the platform
    sim.add_image("Img", platform=platform)

    # When / Then
    if updatable:
        answer = client.create_updated_image(
            existingImageName="Img", newImageName="Img-1", dryRun=True
        )
        assert answer["canUpdateImage"] is True
    else:
        with pytest.raises(client.exceptions.IncompatibleImageException):
            client.create_updated_image(existingImageName="Img", newImageName="Img-1", dryRun=True)


def test_an_update_needs_a_free_image_builder(sim: SimulatedAppStream, client: Any) -> None:
    # Given the account runs 9 image builders of its default quota of 10, and one update
    sim.set_image_builders(9)
    sim.add_image("A")
    sim.add_image("B")
    client.create_updated_image(existingImageName="A", newImageName="A-1")

    # When a second update would need an eleventh builder
    with pytest.raises(client.exceptions.LimitExceededException) as raised:
        client.create_updated_image(existingImageName="B", newImageName="B-1")

    # Then AppStream names the image builder quota
    assert "image builders" in str(raised.value)


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


# --- fleets ------------------------------------------------------------------------------------

FLEET_ARN_PREFIX = "arn:aws:appstream:us-east-1:123456789012:fleet/"


def fleet_of(client: Any, name: str) -> dict[str, Any]:
    fleet: dict[str, Any] = client.describe_fleets(Names=[name])["Fleets"][0]
    return fleet


@pytest.fixture
def prod(sim: SimulatedAppStream) -> str:
    """A running fleet "Prod" on image "Old", and an AVAILABLE image "New" of its platform."""
    sim.add_image("Old")
    sim.add_image("New")
    sim.add_fleet("Prod", image="Old")
    return "Prod"


@pytest.mark.parametrize("by", ["ImageName", "ImageArn"])
def test_update_fleet_moves_the_fleet_to_the_image_by_name_or_arn(
    sim: SimulatedAppStream, client: Any, prod: str, by: str
) -> None:
    # Given
    new = sim.images["New"]
    image = {"ImageName": "New", "ImageArn": new["Arn"]}[by]

    # When
    answer = client.update_fleet(Name=prod, **{by: image})

    # Then both show, whichever the request named, in the answer and in DescribeFleets
    assert answer["Fleet"]["ImageName"] == "New"
    assert answer["Fleet"]["ImageArn"] == new["Arn"]
    assert fleet_of(client, prod) == answer["Fleet"]
    assert sim.fleet_updates == [(prod, "New")]
    assert sim.calls[-2].params == {"Name": prod, by: image}
    assert sim.violations == []


def test_update_fleet_of_an_unknown_fleet_is_not_found(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # When
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.update_fleet(Name="Typo", ImageName="New")

    # Then
    assert raised.value.response["Error"]["Message"] == "Fleet Typo not found."
    assert sim.fleet_updates == []


def test_update_fleet_with_both_image_name_and_arn_is_refused(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # When
    with pytest.raises(client.exceptions.InvalidParameterCombinationException):
        client.update_fleet(Name=prod, ImageName="New", ImageArn=sim.images["New"]["Arn"])

    # Then
    assert sim.fleets[prod]["ImageName"] == "Old"
    assert sim.fleet_updates == []


@pytest.mark.parametrize(
    "image", [{"ImageName": "Missing"}, {"ImageArn": ARN_PREFIX + "Missing"}], ids=["name", "arn"]
)
def test_update_fleet_to_an_unknown_image_is_not_found(
    sim: SimulatedAppStream, client: Any, prod: str, image: dict[str, str]
) -> None:
    # When
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_fleet(Name=prod, **image)

    # Then
    assert sim.fleets[prod]["ImageName"] == "Old"
    assert sim.fleet_updates == []


@pytest.mark.parametrize("state", ["PENDING", "FAILED"])
def test_update_fleet_to_an_image_that_is_not_available_is_refused(
    sim: SimulatedAppStream, client: Any, prod: str, state: str
) -> None:
    # Given
    sim.add_image("Unready", state=state)

    # When
    with pytest.raises(client.exceptions.ResourceNotAvailableException) as raised:
        client.update_fleet(Name=prod, ImageName="Unready")

    # Then
    assert state in raised.value.response["Error"]["Message"]
    assert sim.fleets[prod]["ImageName"] == "Old"


def test_update_fleet_to_an_image_still_being_built_is_refused(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given an update of New that is still running
    client.create_updated_image(existingImageName="New", newImageName="New-1")

    # When
    with pytest.raises(client.exceptions.ResourceNotAvailableException):
        client.update_fleet(Name=prod, ImageName="New-1")

    # Then
    assert sim.fleet_updates == []


def test_an_elastic_fleet_takes_no_image(sim: SimulatedAppStream, client: Any, prod: str) -> None:
    # Given
    sim.add_fleet("Elastic", fleet_type="ELASTIC", desired=20)

    # When
    with pytest.raises(client.exceptions.InvalidParameterCombinationException) as raised:
        client.update_fleet(Name="Elastic", ImageName="New")

    # Then
    assert "app blocks" in raised.value.response["Error"]["Message"]
    fleet = fleet_of(client, "Elastic")
    assert "ImageName" not in fleet
    assert "ImageArn" not in fleet
    assert fleet["MaxConcurrentSessions"] == 20


def test_an_elastic_fleet_cannot_be_scripted_with_an_image(sim: SimulatedAppStream) -> None:
    # Given
    sim.add_image("New")
    sim.add_fleet("Elastic", fleet_type="ELASTIC")

    # When / Then
    with pytest.raises(SimulationError):
        sim.add_fleet("Elastic2", fleet_type="ELASTIC", image="New")
    with pytest.raises(SimulationError):
        sim.set_fleet_image("Elastic", "New")
    assert sorted(sim.fleets) == ["Elastic"]
    assert "ImageName" not in sim.fleets["Elastic"]


@pytest.mark.parametrize("state", ["STARTING", "STOPPING"])
def test_a_fleet_starting_or_stopping_cannot_be_updated(
    sim: SimulatedAppStream, client: Any, state: str
) -> None:
    # Given
    sim.add_image("Old")
    sim.add_image("New")
    sim.add_fleet("Prod", image="Old", state=state)

    # When
    with pytest.raises(client.exceptions.ConcurrentModificationException):
        client.update_fleet(Name="Prod", ImageName="New")

    # Then
    assert sim.fleets["Prod"]["ImageName"] == "Old"
    assert sim.fleet_updates == []


def test_a_running_fleet_cannot_move_to_another_platform(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given
    sim.add_image("Linux", platform="AMAZON_LINUX2")

    # When
    with pytest.raises(client.exceptions.IncompatibleImageException):
        client.update_fleet(Name=prod, ImageName="Linux")

    # Then
    fleet = fleet_of(client, prod)
    assert (fleet["ImageName"], fleet["Platform"]) == ("Old", "WINDOWS_SERVER_2022")


def test_a_stopped_fleet_moves_to_another_platform(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("Old")
    sim.add_image("Linux", platform="AMAZON_LINUX2")
    sim.add_fleet("Prod", image="Old", state="STOPPED")

    # When
    answer = client.update_fleet(Name="Prod", ImageName="Linux")

    # Then
    assert answer["Fleet"]["Platform"] == "AMAZON_LINUX2"
    assert fleet_of(client, "Prod")["ImageName"] == "Linux"
    assert sim.fleet_updates == [("Prod", "Linux")]


def test_update_fleet_members_the_simulation_does_not_model_are_loud(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given an injected failure, which must not hide the gap in the simulation
    sim.fail("UpdateFleet", "ThrottlingException")

    # When
    with pytest.raises(ClientError) as raised:
        client.update_fleet(Name=prod, ImageName="New", ComputeCapacity={"DesiredInstances": 2})

    # Then
    assert error_code(raised.value) == "UnsupportedParameter"
    assert sim.violations == ["UpdateFleet: the simulation does not model ComputeCapacity"]
    assert sim.fleets[prod]["ImageName"] == "Old"


def test_update_fleet_without_a_name_is_a_violation(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # When: the model marks no member required, so botocore sends it
    with pytest.raises(ClientError) as raised:
        client.update_fleet(ImageName="New")

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert sim.violations == ["UpdateFleet: Name is required"]
    assert sim.fleet_updates == []


@pytest.mark.parametrize("by_arn", [False, True], ids=["by-name", "by-arn"])
def test_an_image_a_fleet_was_moved_to_cannot_be_deleted(
    sim: SimulatedAppStream, client: Any, prod: str, by_arn: bool
) -> None:
    # Given
    target = {"ImageArn": sim.images["New"]["Arn"]} if by_arn else {"ImageName": "New"}
    client.update_fleet(Name=prod, **target)

    # When
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.delete_image(Name="New")
    client.delete_image(Name="Old")  # no longer in use

    # Then
    assert sim.deleted == ["Old"]
    assert "New" in sim.images


def test_describe_fleets_shows_what_the_fleet_was_added_with(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("Rhel", platform="RHEL8")
    added = sim.add_fleet(
        "Multi", image="Rhel", platform="RHEL8", desired=4, running=3, max_sessions_per_instance=5
    )
    sim.add_fleet("Stopped", fleet_type="ON_DEMAND", state="STOPPED", desired=2)

    # When
    multi, stopped = client.describe_fleets(Names=["Multi", "Stopped"])["Fleets"]

    # Then
    assert multi == added
    assert multi["Arn"] == FLEET_ARN_PREFIX + "Multi"
    assert multi["Platform"] == "RHEL8"
    assert (multi["FleetType"], multi["State"]) == ("ALWAYS_ON", "RUNNING")
    assert multi["ComputeCapacityStatus"] == {"Desired": 4, "Running": 3}
    assert multi["MaxSessionsPerInstance"] == 5
    assert "FleetErrors" not in multi
    assert (stopped["FleetType"], stopped["State"]) == ("ON_DEMAND", "STOPPED")
    assert stopped["ComputeCapacityStatus"] == {"Desired": 2, "Running": 0}
    assert "MaxSessionsPerInstance" not in stopped


def test_set_fleet_health_shows_in_describe_fleets(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given
    sim.set_fleet_health(
        prod,
        errors=[("IMAGE_NOT_FOUND", "The image was not found."), ("FLEET_STOPPED", "Stopped.")],
        running=0,
    )

    # When
    unhealthy = fleet_of(client, prod)
    sim.set_fleet_health(prod, errors=[], running=1)
    recovered = fleet_of(client, prod)
    sim.set_fleet_health(prod, state="STOPPED")
    stopped = fleet_of(client, prod)

    # Then
    assert unhealthy["FleetErrors"] == [
        {"ErrorCode": "IMAGE_NOT_FOUND", "ErrorMessage": "The image was not found."},
        {"ErrorCode": "FLEET_STOPPED", "ErrorMessage": "Stopped."},
    ]
    assert unhealthy["ComputeCapacityStatus"] == {"Desired": 1, "Running": 0}
    assert unhealthy["State"] == "RUNNING"
    assert "FleetErrors" not in recovered
    assert recovered["ComputeCapacityStatus"] == {"Desired": 1, "Running": 1}
    # a stopped fleet runs no instances
    assert (stopped["State"], stopped["ComputeCapacityStatus"]["Running"]) == ("STOPPED", 0)


@pytest.mark.parametrize(
    "health",
    [
        {"errors": [("NO_SUCH_ERROR", "x")]},
        {"errors": [("INTERNAL_SERVICE_ERROR", "")]},
        {"state": "PAUSED"},
        {"state": "STOPPED", "running": 1},
    ],
    ids=["unknown-code", "empty-message", "unknown-state", "stopped-but-running"],
)
def test_set_fleet_health_refuses_what_appstream_could_not_return(
    sim: SimulatedAppStream, prod: str, health: dict[str, Any]
) -> None:
    # When
    with pytest.raises(SimulationError):
        sim.set_fleet_health(prod, **health)

    # Then nothing changed
    assert sim.fleets[prod]["State"] == "RUNNING"
    assert "FleetErrors" not in sim.fleets[prod]


def test_fleet_tags_are_set_listed_and_removed(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given
    arn = FLEET_ARN_PREFIX + prod
    sim.set_fleet_tags(prod, {"owner": "sales", "stage": "test"})

    # When
    before = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    client.tag_resource(ResourceArn=arn, Tags={"stage": "prod", "cost-centre": "42"})
    client.untag_resource(ResourceArn=arn, TagKeys=["owner", "never-set"])
    after = client.list_tags_for_resource(ResourceArn=arn)["Tags"]

    # Then
    assert before == {"owner": "sales", "stage": "test"}
    assert after == {"stage": "prod", "cost-centre": "42"}
    assert sim.fleet_tags(prod) == after
    assert sim.tags("Old") == {}  # the image's tags are its own
    assert sim.violations == []


def test_image_tags_are_changed_by_tag_and_untag_resource(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    image = sim.add_image("SalesApps", tags={"image-updater:root": "SalesApps"})

    # When
    client.tag_resource(ResourceArn=image["Arn"], Tags={"owner": "sales"})
    client.untag_resource(ResourceArn=image["Arn"], TagKeys=["image-updater:root"])

    # Then
    assert sim.tags("SalesApps") == {"owner": "sales"}
    assert client.list_tags_for_resource(ResourceArn=image["Arn"])["Tags"] == {"owner": "sales"}


@pytest.mark.parametrize("operation", ["list", "tag", "untag"])
def test_tagging_an_unknown_fleet_is_not_found(
    sim: SimulatedAppStream, client: Any, prod: str, operation: str
) -> None:
    # Given
    arn = FLEET_ARN_PREFIX + "Missing"
    calls = {
        "list": lambda: client.list_tags_for_resource(ResourceArn=arn),
        "tag": lambda: client.tag_resource(ResourceArn=arn, Tags={"a": "b"}),
        "untag": lambda: client.untag_resource(ResourceArn=arn, TagKeys=["a"]),
    }

    # When / Then
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        calls[operation]()


def test_a_resource_holds_at_most_50_tags(sim: SimulatedAppStream, client: Any, prod: str) -> None:
    # Given a fleet with 49 tags
    arn = FLEET_ARN_PREFIX + prod
    sim.set_fleet_tags(prod, {f"key{index}": "v" for index in range(49)})

    # When two more would make 51, while one more and a changed one make 50
    with pytest.raises(client.exceptions.LimitExceededException):
        client.tag_resource(ResourceArn=arn, Tags={"new1": "v", "new2": "v"})
    unchanged = sim.fleet_tags(prod)
    client.tag_resource(ResourceArn=arn, Tags={"new1": "v", "key0": "changed"})

    # Then
    assert len(unchanged) == 49
    tags = sim.fleet_tags(prod)
    assert len(tags) == 50
    assert tags["key0"] == "changed"
    assert sim.violations == []


def test_aws_prefixed_tag_keys_are_refused(sim: SimulatedAppStream, client: Any, prod: str) -> None:
    # When
    with pytest.raises(ClientError) as raised:
        client.tag_resource(ResourceArn=FLEET_ARN_PREFIX + prod, Tags={"aws:owner": "sales"})

    # Then: the model's TagKey pattern refuses it, as it refuses it in newImageTags
    assert error_code(raised.value) == "ValidationException"
    assert "regular expression pattern" in sim.violations[0]
    assert sim.fleet_tags(prod) == {}


def test_scripted_fleet_tags_are_held_to_the_model(sim: SimulatedAppStream, prod: str) -> None:
    # When / Then
    with pytest.raises(SimulationError):
        sim.set_fleet_tags(prod, {"aws:owner": "sales"})
    with pytest.raises(SimulationError):
        sim.add_fleet("Big", tags={f"key{index}": "v" for index in range(51)})
    assert sorted(sim.fleets) == [prod]
