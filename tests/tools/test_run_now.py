"""The run-now tool against the offline deployment: moto + the real workflow + the simulation."""

from __future__ import annotations

import io
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSOTokenLoadError,
)

from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Deployment, SimulatedClock, WorkflowRunner, sent_emails
from tests.tools.steps import stack_for_run_now
from tools import run_now
from tools.run_now.aws import AWS_ERRORS, SessionFactory, console_link, problem
from tools.run_now.errors import (
    ENVIRONMENT,
    INTERRUPTED,
    OK,
    RUN_FAILED,
    STOPPED_FOLLOWING,
    USAGE,
)
from tools.run_now.follow import Display, ImageProgress, Progress
from tools.run_now.run import MESSAGE_MAX, describe

CONTEXT = {"imageNames": "ImgA,ImgB", "notificationEmails": "ops@example.com"}


@dataclass
class Offline:
    sim: SimulatedAppStream
    deployment: Deployment

    def run(self, *argv: str, session_factory: SessionFactory = boto3.Session) -> tuple[int, str]:
        out = io.StringIO()
        code = run_now.main(
            [*argv, "--poll-seconds", "0.05"], out=out, session_factory=session_factory
        )
        return code, out.getvalue()

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=self.deployment.region)
        arn = self.deployment.state_machine_arn
        return list(sfn.list_executions(stateMachineArn=arn)["executions"])

    def wait_until_runs_end(self, timeout_seconds: float = 60) -> None:
        """A run the tool stopped following goes on; it must end before the mocks do."""
        deadline = time.monotonic() + timeout_seconds
        while any(e["status"] == "RUNNING" for e in self.executions()):
            assert time.monotonic() < deadline, "a run did not end"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def runner() -> WorkflowRunner:
    return WorkflowRunner(CONTEXT)


@contextmanager
def _deployed(runner: WorkflowRunner, updates_available: dict[str, bool]) -> Iterator[Offline]:
    """ImgA and ImgB are configured; the images that exist are the ones given."""
    clock = SimulatedClock()
    sim = SimulatedAppStream(clock=clock.now)
    for image, available in updates_available.items():
        sim.add_image(image, updates_available=available)
    with runner.deployed(sim, clock) as deployment:
        stack_for_run_now(deployment, breaker_outputs=False)
        offline = Offline(sim, deployment)
        yield offline
        offline.wait_until_runs_end()
    assert sim.violations == []


@pytest.fixture
def offline(runner: WorkflowRunner) -> Iterator[Offline]:
    with _deployed(runner, {"ImgA": True, "ImgB": False}) as deployed:
        yield deployed


def _created(sim: SimulatedAppStream) -> list[str]:
    return [
        c.params["newImageName"]
        for c in sim.calls
        if c.operation == "CreateUpdatedImage" and not c.params.get("dryRun") and not c.error
    ]


@pytest.mark.workflow
def test_runs_every_configured_image_and_exits_zero(offline: Offline) -> None:
    # Given a deployed stack with ImgA (updates) and ImgB (up to date)
    # When the tool runs without arguments
    code, output = offline.run()
    # Then both images are reported, one image is created, and the exit code is 0
    assert code == OK, output
    assert "execution:AppStreamImageUpdater:run-now-" in output
    assert "Run SUCCEEDED" in output
    assert "ImgA: SUCCEEDED ImgA-" in output
    assert "ImgB: NO_UPDATE" in output
    assert "ImgB                     up to date" in output
    assert len(_created(offline.sim)) == 1
    # and the progress went through the steps as plain lines (not a terminal)
    assert "checking the build" in output and "\x1b[" not in output
    lines = output.splitlines()
    assert all(line != following for line, following in itertools.pairwise(lines))


@pytest.mark.workflow
def test_a_subset_of_images(offline: Offline) -> None:
    code, output = offline.run("--images", "ImgB")
    assert code == OK
    assert '"images": ["ImgB"]' in output
    assert "ImgA" not in output.split("Run SUCCEEDED")[1]
    assert _created(offline.sim) == []


@pytest.mark.workflow
def test_dry_run_creates_nothing(offline: Offline) -> None:
    # Given ImgA has an update and ImgB is up to date
    # When
    code, output = offline.run("--dry-run")
    # Then each image says what a real run would do, and nothing was created
    assert code == OK
    assert "ImgA: dry run: would create ImgA-" in output
    assert "ImgB: dry run: up to date" in output
    assert _created(offline.sim) == []


@pytest.mark.workflow
def test_a_failed_update_exits_one_with_the_reason(offline: Offline) -> None:
    # Given the update of ImgA ends FAILED
    offline.sim.script_update("ImgA", polls=2, outcome="FAILED")
    # When
    code, output = offline.run("--images", "ImgA")
    # Then
    assert code == RUN_FAILED
    assert "Run FAILED" in output
    assert "ImgA: FAILED" in output
    assert "Reason: ImageUpdatesFailed" in output


@pytest.mark.workflow
def test_an_image_that_is_not_configured_is_refused(offline: Offline) -> None:
    code, _ = offline.run("--images", "Nope")
    assert code == USAGE
    assert offline.sim.calls == []


@pytest.mark.workflow
def test_a_missing_stack_is_refused_clearly(
    offline: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = offline.run("--stack", "NotDeployed")
    assert code == ENVIRONMENT
    assert "Stack 'NotDeployed' was not found" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_table_redrawn_in_place() -> None:
    # Given two images, one of which advanced
    progress = Progress(images={name: ImageProgress(name) for name in ("ImgA", "ImgB")})
    progress.images["ImgA"].step, progress.images["ImgA"].polls = "checking the build", 2
    terminal = _Terminal()
    display = Display(terminal)
    started = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    # When it is drawn twice
    display.show(progress, started, started + timedelta(minutes=20))
    display.show(progress, started, started + timedelta(minutes=30))
    # Then the second drawing moves up over the first and shows every image
    first, second = terminal.getvalue().split("\x1b[2F\x1b[J")
    assert "0:20:00  ImgA" in first and "checking the build, 2 status checks" in first
    assert "0:30:00  ImgA" in second and "0:30:00  ImgB" in second and "queued" in second


def test_missing_credentials_are_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no credentials anywhere (environment, files, instance metadata)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # When
    code = run_now.main(["--region", "us-east-1"], out=io.StringIO())
    # Then
    assert code == ENVIRONMENT
    assert "No AWS credentials found" in capsys.readouterr().err


# --- following a run that goes on without the tool ---------------------------------------


def _session_where(event: str, happens: Callable[[], None]) -> SessionFactory:
    """Real sessions (moto answers them) where `happens` runs before each matching call."""

    def factory(**kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        session.events.register(event, lambda **_: happens())
        return session

    return factory


def _started_arn(output: str) -> str:
    match = re.search(r"^Started (arn:\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def _execution_link(arn: str) -> str:
    return (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
        f"#/v2/executions/details/{arn}"
    )


def _interrupt() -> None:
    raise KeyboardInterrupt


def _run_through_ctrl_c(
    offline: Offline, *argv: str, session_factory: SessionFactory
) -> tuple[int, str]:
    try:
        return offline.run(*argv, session_factory=session_factory)
    except KeyboardInterrupt:  # left to escape, it would stop the whole test session
        pytest.fail("Ctrl-C escaped the tool as a traceback")


@pytest.mark.workflow
def test_ctrl_c_while_following_says_the_run_goes_on_and_how_to_follow_it_again(
    offline: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Ctrl-C arrives while the tool reads the run's history
    interrupted = _session_where("before-call.sfn.GetExecutionHistory", _interrupt)
    # When
    code, output = _run_through_ctrl_c(offline, "--images", "ImgA", session_factory=interrupted)
    # Then no traceback: the tool says the run goes on, where to see it, and exits 130
    arn = _started_arn(output)
    err = capsys.readouterr().err
    assert code == INTERRUPTED == 130
    assert "Stopped following (Ctrl-C)" in err
    assert "still running in AWS" in err
    assert _execution_link(arn) in err
    follow_again = re.search(r"follow it again: python -m tools\.run_now (.+)$", err, re.M)
    assert follow_again, err
    # and the command it prints follows the same run to its end
    code, output = offline.run(*follow_again.group(1).split())
    assert code == OK, output
    assert "Run SUCCEEDED" in output and "ImgA: SUCCEEDED ImgA-" in output
    assert len(offline.executions()) == 1


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("event", "said", "not_said", "none_started"),
    [
        pytest.param(
            "before-call.cloudformation.DescribeStacks",
            ("no run was started",),
            (),
            True,
            id="before a run started: says none was",
        ),
        pytest.param(
            "before-call.sfn.StartExecution",
            ("it may have started", "StateMachineConsoleUrl"),
            ("no run was started",),
            False,
            id="while starting: says the run may have started",
        ),
    ],
)
def test_ctrl_c_before_the_run_is_known_to_have_started(
    offline: Offline,
    capsys: pytest.CaptureFixture[str],
    event: str,
    said: tuple[str, ...],
    not_said: tuple[str, ...],
    none_started: bool,
) -> None:
    # Given Ctrl-C arrives while the tool reads the stack, or while the run is being started
    interrupted = _session_where(event, _interrupt)
    # When
    code, _ = _run_through_ctrl_c(offline, session_factory=interrupted)
    # Then it says whether a run started (while starting, it cannot know whether AWS got the
    # request, and says so)
    err = capsys.readouterr().err
    assert code == INTERRUPTED
    for text in said:
        assert text in err
    for text in not_said:
        assert text not in err
    if none_started:
        assert offline.executions() == []


def _refusal(code: str) -> Exception:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "DescribeExecution")


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("failure", "explained"),
    [
        (_refusal("ExpiredToken"), "credentials have expired or were not accepted"),
        (_refusal("ExpiredTokenException"), "credentials have expired or were not accepted"),
        (_refusal("RequestExpired"), "credentials have expired or were not accepted"),
        (_refusal("UnrecognizedClientException"), "credentials have expired or were not"),
        (EndpointConnectionError(endpoint_url="https://states"), "could not reach AWS (network)"),
        (ReadTimeoutError(endpoint_url="https://states"), "could not reach AWS (network)"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_losing_aws_while_following_says_the_run_is_still_running(
    offline: Offline, capsys: pytest.CaptureFixture[str], failure: Exception, explained: str
) -> None:
    # Given the run starts, then every look at it fails
    def fail() -> None:
        raise failure

    failing = _session_where("before-call.sfn.DescribeExecution", fail)
    # When
    code, output = offline.run("--images", "ImgB", session_factory=failing)
    # Then the tool says why, that the run goes on, and how to follow it again
    arn = _started_arn(output)
    err = capsys.readouterr().err
    assert code == STOPPED_FOLLOWING
    assert explained in err
    assert "AWS refused" not in err
    assert "still running in AWS" in err
    assert _execution_link(arn) in err
    assert f"python -m tools.run_now --execution {arn}" in err


# --- refused before anything starts -------------------------------------------------------


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("images", "said"),
    [
        ("", "has an empty name"),
        (" ", "has an empty name"),
        ("ImgA,,ImgB", "has an empty name"),
        ("ImgA,", "has an empty name"),
        ("ImgB,ImgB", "names ImgB more than once"),
        ("ImgA, ImgB,ImgA", "names ImgA more than once"),
    ],
)
def test_empty_or_repeated_image_names_are_refused_without_starting_a_run(
    offline: Offline, capsys: pytest.CaptureFixture[str], images: str, said: str
) -> None:
    # Given a deployed stack with ImgA and ImgB
    # When
    code, _ = offline.run("--images", images)
    # Then it is a usage error, and no run was started
    assert code == USAGE
    assert said in capsys.readouterr().err
    assert offline.executions() == []


@pytest.mark.workflow
def test_a_stack_being_deployed_is_named_as_such(
    offline: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack whose first deployment waits in review (a change set not yet executed)
    boto3.client("cloudformation", region_name=offline.deployment.region).create_change_set(
        StackName="Deploying",
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}),
    )
    # When
    code, _ = offline.run("--stack", "Deploying")
    # Then
    err = capsys.readouterr().err
    assert code == ENVIRONMENT
    assert "is being deployed (REVIEW_IN_PROGRESS)" in err
    assert "Try again when that has finished" in err
    assert "StateMachineArn" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--execution", "run-now-20260105-030000"],
        ["--execution", "arn:aws:states:eu-west-1:111122223333:stateMachine:M"],
        ["--execution", "arn:aws:states:eu-west-1:111122223333:execution:M:r", "--dry-run"],
        ["--execution", "arn:aws:states:eu-west-1:111122223333:execution:M:r", "--images", "A"],
    ],
)
def test_following_again_wants_an_execution_arn_alone(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # Given no AWS at all: these are refused before any call
    aws = _FakeAws(region_name="")
    # When
    code = run_now.main(argv, out=io.StringIO(), session_factory=aws)
    # Then
    assert code == USAGE
    assert "--execution" in capsys.readouterr().err
    assert aws.calls == []


@dataclass
class _FakeAws:
    """What the tool sees of one account: a stack and at most one finished execution."""

    stack_status: str = "CREATE_COMPLETE"
    execution: dict[str, Any] = field(default_factory=dict)
    region_name: str = "eu-west-1"
    calls: list[str] = field(default_factory=list)

    def __call__(self, **_: Any) -> _FakeAws:  # the session factory
        self.calls.append("session")
        return self

    def get_credentials(self) -> object:
        return object()

    def client(self, _service: str, region_name: str | None = None) -> _FakeAws:
        return self

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        outputs = [{"OutputKey": "StateMachineArn", "OutputValue": "arn:aws:states:..."}]
        if not self.stack_status.endswith("_COMPLETE"):
            outputs = []  # as CloudFormation shows a stack still (or never) deployed
        return {"Stacks": [{"StackStatus": self.stack_status, "Outputs": outputs}]}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return self.execution

    def get_execution_history(self, **_: Any) -> dict[str, Any]:
        return {"events": []}


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("CREATE_IN_PROGRESS", "is being deployed (CREATE_IN_PROGRESS). Try again when"),
        ("UPDATE_IN_PROGRESS", "is being deployed (UPDATE_IN_PROGRESS). Try again when"),
        ("ROLLBACK_IN_PROGRESS", "is being deployed (ROLLBACK_IN_PROGRESS). Try again when"),
        ("DELETE_IN_PROGRESS", "is being deleted (DELETE_IN_PROGRESS)"),
        ("CREATE_FAILED", "failed to deploy (CREATE_FAILED)"),
        ("ROLLBACK_COMPLETE", "failed to deploy (ROLLBACK_COMPLETE)"),
        ("ROLLBACK_FAILED", "failed to deploy (ROLLBACK_FAILED)"),
    ],
)
def test_a_stack_that_is_not_ready_says_why(
    capsys: pytest.CaptureFixture[str], status: str, said: str
) -> None:
    # Given
    aws = _FakeAws(stack_status=status)
    # When
    code = run_now.main([], out=io.StringIO(), session_factory=aws)
    # Then
    err = capsys.readouterr().err
    assert code == ENVIRONMENT
    assert said in err
    assert "has no StateMachineArn output" not in err


def test_could_not_reach_aws_is_not_called_a_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given credentials, and an endpoint where nothing listens
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # When
    code = run_now.main(["--region", "eu-west-1"], out=io.StringIO())
    # Then
    err = capsys.readouterr().err
    assert code == ENVIRONMENT
    assert "could not reach AWS (network)" in err
    assert "AWS refused" not in err


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (EndpointConnectionError(endpoint_url="https://x"), "could not reach AWS (network)"),
        (ConnectTimeoutError(endpoint_url="https://x"), "could not reach AWS (network)"),
        (ReadTimeoutError(endpoint_url="https://x"), "could not reach AWS (network)"),
        (ConnectionClosedError(endpoint_url="https://x"), "could not reach AWS (network)"),
        (_refusal("ExpiredToken"), "credentials have expired or were not accepted"),
        (_refusal("InvalidClientTokenId"), "credentials have expired or were not accepted"),
        (SSOTokenLoadError(error_msg="expired"), "credentials have expired or were not"),
        (_refusal("AccessDeniedException"), "AWS refused: "),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_aws_failures_say_whose_problem_it_is(error: Exception, said: str) -> None:
    # Given an AWS failure
    assert isinstance(error, AWS_ERRORS)
    # When it is explained
    explained = problem(error)
    # Then
    assert said in explained


@pytest.mark.parametrize(
    ("arn", "link"),
    [
        (
            "arn:aws:states:eu-west-1:111122223333:execution:M:run-1",
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
            "#/v2/executions/details/arn:aws:states:eu-west-1:111122223333:execution:M:run-1",
        ),
        (
            "arn:aws-cn:states:cn-north-1:111122223333:execution:M:run-1",
            "https://cn-north-1.console.amazonaws.cn/states/home?region=cn-north-1"
            "#/v2/executions/details/arn:aws-cn:states:cn-north-1:111122223333:execution:M:run-1",
        ),
        (
            "arn:aws-us-gov:states:us-gov-west-1:111122223333:execution:M:run-1",
            "https://us-gov-west-1.console.amazonaws-us-gov.com/states/home?region=us-gov-west-1"
            "#/v2/executions/details/"
            "arn:aws-us-gov:states:us-gov-west-1:111122223333:execution:M:run-1",
        ),
    ],
)
def test_the_console_link_is_in_the_executions_partition(arn: str, link: str) -> None:
    assert console_link(arn) == link


# --- dry-run results ----------------------------------------------------------------------

_LAMBDA_CAUSE = json.dumps(
    {
        "errorType": "SourceImageNotFound",
        "errorMessage": "Image 'ImgB' was not found in eu-west-1.",
        "stackTrace": ["  File handler.py, line 1"],
    }
)


def _dry_run(image: str, **result: Any) -> dict[str, Any]:
    base = {"image": image, "outcome": "DRY_RUN", "action": None, "newImageName": None}
    return {**base, "failed": False, **result}


def test_a_dry_run_prints_what_each_image_would_do_or_why_it_could_not_be_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a finished dry run where ImgB's check failed (Lambda's JSON cause)
    results = [
        _dry_run("ImgA", action="UPDATE", newImageName="ImgA-2026-01-05"),
        _dry_run("ImgB", error={"Error": "SourceImageNotFound", "Cause": _LAMBDA_CAUSE}),
        _dry_run("ImgC", action="NO_UPDATE"),
        _dry_run("ImgD", action="FOLLOW", newImageName="ImgD-2026-01-04"),
    ]
    arn = "arn:aws:states:eu-west-1:111122223333:execution:AppStreamImageUpdater:run-now-1"
    started = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    aws = _FakeAws(
        execution={
            "status": "SUCCEEDED",
            "startDate": started,
            "stopDate": started + timedelta(minutes=1),
            "input": json.dumps({"images": ["ImgA", "ImgB", "ImgC", "ImgD"], "dryRun": True}),
            "output": json.dumps({"results": results}),
        }
    )
    out = io.StringIO()
    # When the tool follows it
    code = run_now.main(["--execution", arn], out=out, session_factory=aws)
    # Then
    lines = out.getvalue().splitlines()
    assert code == OK, capsys.readouterr().err
    assert "  ImgA: dry run: would create ImgA-2026-01-05" in lines
    assert (
        "  ImgB: dry run: could not check: SourceImageNotFound: "
        "Image 'ImgB' was not found in eu-west-1."
    ) in lines
    assert "  ImgC: dry run: up to date" in lines
    assert "  ImgD: dry run: an update is already building: ImgD-2026-01-04" in lines


@pytest.mark.workflow
def test_a_dry_run_shows_the_image_it_could_not_check_and_sends_no_email(
    runner: WorkflowRunner,
) -> None:
    # Given ImgB is configured but does not exist
    with _deployed(runner, {"ImgA": False}) as offline:
        # When
        code, output = offline.run("--dry-run")
        emails = sent_emails(offline.deployment.topic_arn)
    # Then the reason is printed here, from Lambda's errorMessage, and nobody was e-mailed
    lines = output.splitlines()
    assert code == OK, output
    assert "  ImgA: dry run: up to date" in lines
    (imgb,) = [line for line in lines if line.startswith("  ImgB: ")]
    assert imgb.startswith("  ImgB: dry run: could not check: SourceImageNotFound: The config")
    assert "errorType" not in imgb
    assert emails == []


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            {"Error": "SourceImageNotFound", "Cause": "Image 'ImgB' was not found."},
            "dry run: could not check: SourceImageNotFound: Image 'ImgB' was not found.",
        ),
        (
            {"Error": "States.Timeout", "Cause": json.dumps({"detail": "no errorMessage"})},
            'dry run: could not check: States.Timeout: {"detail": "no errorMessage"}',
        ),
        ({"Error": "States.Timeout"}, "dry run: could not check: States.Timeout"),
        (
            {"Error": "AppStreamBusy", "Cause": "first line\n  second   line"},
            "dry run: could not check: AppStreamBusy: first line second line",
        ),
    ],
)
def test_a_failed_dry_run_check_is_one_readable_line(error: dict[str, Any], shown: str) -> None:
    # Given a dry-run result with an error / When described / Then
    assert describe(_dry_run("ImgB", error=error)) == shown


def test_a_long_dry_run_error_is_cut_short() -> None:
    # Given a Lambda error whose message is 5000 characters
    cause = json.dumps({"errorType": "Boom", "errorMessage": "x" * 5000})
    # When
    shown = describe(_dry_run("ImgB", error={"Error": "Boom", "Cause": cause}))
    # Then
    assert shown.startswith("dry run: could not check: Boom: xxx")
    assert shown.endswith("...")
    assert len(shown) <= len("dry run: could not check: ") + MESSAGE_MAX


@pytest.mark.workflow
def test_the_command_that_follows_again_keeps_the_profile(
    offline: Offline,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Given a named profile, and credentials that expire once the run has started
    credentials = tmp_path / "credentials"
    credentials.write_text("[ops]\naws_access_key_id = a\naws_secret_access_key = b\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))

    def expire() -> None:
        raise _refusal("ExpiredToken")

    expiring = _session_where("before-call.sfn.DescribeExecution", expire)
    # When
    code, output = offline.run("--profile", "ops", "--images", "ImgB", session_factory=expiring)
    # Then
    arn = _started_arn(output)
    assert code == STOPPED_FOLLOWING
    assert f"python -m tools.run_now --execution {arn} --profile ops" in capsys.readouterr().err
