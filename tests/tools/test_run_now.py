"""The run-now tool against the offline deployment: moto + the real workflow + the simulation."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Deployment, SimulatedClock, WorkflowRunner
from tools import run_now

CONTEXT = {"imageNames": "ImgA,ImgB", "notificationEmails": "ops@example.com"}


@dataclass
class Offline:
    sim: SimulatedAppStream
    deployment: Deployment

    def run(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        code = run_now.main([*argv, "--poll-seconds", "0.05"], out=out)
        return code, out.getvalue()


@pytest.fixture(scope="module")
def runner() -> WorkflowRunner:
    return WorkflowRunner(CONTEXT)


@pytest.fixture
def offline(runner: WorkflowRunner) -> Iterator[Offline]:
    clock = SimulatedClock()
    sim = SimulatedAppStream(clock=clock.now)
    sim.add_image("ImgA", updates_available=True)
    sim.add_image("ImgB", updates_available=False)
    with runner.deployed(sim, clock) as deployment:
        _stack_with_outputs(deployment)
        yield Offline(sim, deployment)
    assert sim.violations == []


def _stack_with_outputs(deployment: Deployment) -> None:
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "StateMachineArn": {"Value": deployment.state_machine_arn},
            "ConfiguredImages": {"Value": "ImgA,ImgB"},
        },
    }
    boto3.client("cloudformation", region_name=deployment.region).create_stack(
        StackName=run_now.DEFAULT_STACK, TemplateBody=json.dumps(template)
    )


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
    assert code == run_now.OK, output
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
    assert code == run_now.OK
    assert '"images": ["ImgB"]' in output
    assert "ImgA" not in output.split("Run SUCCEEDED")[1]
    assert _created(offline.sim) == []


@pytest.mark.workflow
def test_dry_run_creates_nothing(offline: Offline) -> None:
    code, output = offline.run("--dry-run")
    assert code == run_now.OK
    assert "ImgA: dry run, would UPDATE ImgA-" in output
    assert "ImgB: dry run, would NO_UPDATE" in output
    assert _created(offline.sim) == []


@pytest.mark.workflow
def test_a_failed_update_exits_one_with_the_reason(offline: Offline) -> None:
    # Given the update of ImgA ends FAILED
    offline.sim.script_update("ImgA", polls=2, outcome="FAILED")
    # When
    code, output = offline.run("--images", "ImgA")
    # Then
    assert code == run_now.RUN_FAILED
    assert "Run FAILED" in output
    assert "ImgA: FAILED" in output
    assert "Reason: ImageUpdatesFailed" in output


@pytest.mark.workflow
def test_an_image_that_is_not_configured_is_refused(offline: Offline) -> None:
    code, _ = offline.run("--images", "Nope")
    assert code == run_now.USAGE
    assert offline.sim.calls == []


@pytest.mark.workflow
def test_a_missing_stack_is_refused_clearly(
    offline: Offline, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = offline.run("--stack", "NotDeployed")
    assert code == run_now.ENVIRONMENT
    assert "Stack 'NotDeployed' was not found" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_table_redrawn_in_place() -> None:
    # Given two images, one of which advanced
    progress = run_now.Progress(
        images={name: run_now.ImageProgress(name) for name in ("ImgA", "ImgB")}
    )
    progress.images["ImgA"].step, progress.images["ImgA"].polls = "checking the build", 2
    terminal = _Terminal()
    display = run_now.Display(terminal)
    started = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    # When it is drawn twice
    display.show(progress, started, started + timedelta(minutes=20))
    display.show(progress, started, started + timedelta(minutes=30))
    # Then the second drawing moves up over the first and shows every image
    first, second = terminal.getvalue().split("\x1b[2F\x1b[J")
    assert "0:20:00  ImgA" in first and "checking the build, 2 status checks" in first
    assert "0:30:00  ImgA" in second and "0:30:00  ImgB" in second and "queued" in second


def test_missing_credentials_are_refused_clearly(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
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
    assert code == run_now.ENVIRONMENT
    assert "No AWS credentials found" in capsys.readouterr().err
