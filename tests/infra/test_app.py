"""`cdk synth` as the CLI runs it: app.py with the context in CDK_CONTEXT_JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match

from app import build_app
from infra.config import cdk_json_feature_flags

ROOT = Path(__file__).resolve().parents[2]


def _synth(context: dict[str, str], outdir: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_bad_setting_stops_the_synth_naming_the_key_value_and_rule(tmp_path: Path) -> None:
    # Given an image name AppStream reserves and an unknown time zone
    context = {"imageNames": "AWSBase", "scheduleTimezone": "Mars/Olympus"}
    # When app.py runs as `cdk synth -c ...` would run it
    result = _synth(context, tmp_path)
    # Then it stops with both problems and no traceback, and writes no template
    assert result.returncode != 0
    assert "imageNames" in result.stderr and "'AWSBase'" in result.stderr
    assert "scheduleTimezone" in result.stderr and "Mars/Olympus" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_cli_style_values_synthesize(tmp_path: Path) -> None:
    # Given `-c imageNames=ImgA,ImgB -c notificationEmails=ops@example.com`
    result = _synth({"imageNames": "ImgA,ImgB", "notificationEmails": "ops@example.com"}, tmp_path)
    # Then the template is written
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "AppStreamImageUpdater.template.json").read_text())
    schedule = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"
    )
    assert json.loads(schedule["Properties"]["Target"]["Input"])["images"] == ["ImgA", "ImgB"]


def _annotations(**context: str) -> Annotations:
    app = cdk.App(context={**cdk_json_feature_flags(), "imageNames": "ImgA", **context})
    return Annotations.from_stack(build_app(app))


def test_no_notification_address_warns_how_to_add_one_and_to_confirm_it() -> None:
    # Given no address in notificationEmails
    # When the app is synthesized
    annotations = _annotations(notificationEmails="")
    # Then the stack carries a warning: how to add an address, and that SNS awaits a confirmation
    annotations.has_warning(
        "/AppStreamImageUpdater",
        Match.string_like_regexp(
            r"notificationEmails is empty.*"
            r"-c notificationEmails=a@example\.com.*cdk\.json.*confirm"
        ),
    )


def test_a_notification_address_silences_the_warning() -> None:
    # Given one address / When synthesized / Then no warning mentions notificationEmails
    _annotations(notificationEmails="ops@example.com").has_no_warning(
        "*", Match.string_like_regexp("notificationEmails")
    )
