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


def new_client() -> Any:
    return boto3.client(
        "appstream",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
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


def test_injected_errors_count_down_and_are_recorded(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.fail("DescribeImages", "ThrottlingException", times=2, message="Rate exceeded")

    # When
    codes = []
    for _ in range(3):
        try:
            client.describe_images(Names=["SalesApps"])
            codes.append(None)
        except ClientError as error:
            codes.append(error_code(error))

    # Then
    assert codes == ["ThrottlingException", "ThrottlingException", None]
    assert [call.error for call in sim.calls] == codes
    assert sim.calls[0].params == {"Names": ["SalesApps"]}
    assert sim.calls[0].timestamp == START


def test_injected_errors_can_target_some_calls(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.fail(
        "CreateUpdatedImage",
        "ConcurrentModificationException",
        times=None,
        when=lambda params: not params.get("dryRun", False),
    )

    # When
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
