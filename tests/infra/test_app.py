"""`cdk synth` as the CLI runs it: app.py with the context in CDK_CONTEXT_JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import cloud_assembly_schema
from aws_cdk.assertions import Annotations, Match

from app import build_app
from infra.config import ConfigError, cdk_json_feature_flags, load_app_config
from infra.config import context as config_context
from rehearsal.template import UNSTAGED, template_json
from tests.infra.conftest import app_py

ROOT = Path(__file__).resolve().parents[2]


def _synth(context: dict[str, str], outdir: Path) -> subprocess.CompletedProcess[str]:
    return app_py(context, outdir, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")


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
    context = {"imageNames": "ImgA,ImgB", "notificationEmails": "ops@example.com"}
    result = _synth(context, tmp_path)
    # Then the template is written
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "AppStreamImageUpdater.template.json").read_text())
    schedule = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"
    )
    assert json.loads(schedule["Properties"]["Target"]["Input"])["images"] == ["ImgA", "ImgB"]
    # And it is the template the tests and the rehearsal synthesize in-process without staging
    # the assets (UNSTAGED): each asset's hash is computed from its source either way
    assert template_json(context) == template


def _annotations(**context: str) -> Annotations:
    app = cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, "imageNames": "ImgA", **context})
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


# --- context keys that are not settings ----------------------------------------------------------


def _build(**context: object) -> None:
    build_app(
        cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, "imageNames": "ImgA", **context})
    )


def refused_synth(**context: str) -> tuple[str, ...]:
    """When the app is built with `context` (-c key=value), which it must refuse: the problems
    its ConfigError names."""
    with pytest.raises(ConfigError) as raised:
        _build(**context)
    return raised.value.problems


def test_misspelled_keys_stop_the_synth_naming_the_closest_setting() -> None:
    # Given `-c imageName=Foo -c pollInterval=5` (imageNames, pollIntervalMinutes meant)
    # When the app is built
    problems = refused_synth(imageName="Foo", pollInterval="5")
    # Then neither is ignored: each is named with the setting it resembles
    assert problems == (
        "imageName: unknown key, did you mean imageNames?",
        "pollInterval: unknown key, did you mean pollIntervalMinutes?",
    )


def test_unknown_keys_and_bad_values_are_reported_together() -> None:
    # Given an unknown key and a value out of range
    # When / Then one synth names both, the unknown key first
    problems = refused_synth(ImageNames="Foo", pollIntervalMinutes="0")
    assert problems == (
        "ImageNames: unknown key, did you mean imageNames?",
        "pollIntervalMinutes: 0 must be between 1 and 60",
    )


# What CDK CLI 2.1148 passes to the app besides cdk.json (seen in CDK_CONTEXT_JSON), with
# `cdk acknowledge` / `cdk cli-telemetry --disable` records and `--no-*` options, plus a cached
# lookup as cdk.context.json would hold it.
CDK_CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
    "aws:cdk:disable-version-reporting": True,
    "aws:cdk:disable-asset-staging": True,
    "@aws-cdk/core:failSynthOnValidationErrors": False,
    "acknowledged-issue-numbers": [12345],
    "cli-telemetry": False,
    "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
}


def test_the_cdk_s_own_context_keys_are_accepted() -> None:
    # Given cdk.json's feature flags, every key the CLI adds, and App options that aws-cdk-lib
    # records as context (aws:cdk:disable-stack-trace, ...)
    app = cdk.App(
        context={**cdk_json_feature_flags(), **CDK_CLI_CONTEXT, "imageNames": "ImgA"},
        analytics_reporting=False,
        stack_traces=False,
    )
    # When the app's whole context is read as build_app reads it
    loaded = load_app_config(app.node.get_all_context())
    # Then only the settings count
    assert loaded.image_names == ("ImgA",)


def test_every_cdk_lookup_provider_is_known() -> None:
    # A new lookup provider in aws-cdk-lib would otherwise make its cached keys "unknown".
    assert len(config_context.CDK_LOOKUP_PROVIDERS) == len(
        list(cloud_assembly_schema.ContextProvider)
    )


def test_a_misspelled_key_stops_app_py_as_the_cli_runs_it(tmp_path: Path) -> None:
    # Given `cdk synth -c maxConcurentUpdates=3` with the CLI's own context
    context = {**CDK_CLI_CONTEXT, "maxConcurentUpdates": "3"}
    # When app.py runs
    result = _synth(context, tmp_path)
    # Then it stops, names the key and the setting, and writes no template
    assert result.returncode != 0
    assert "maxConcurentUpdates: unknown key, did you mean maxConcurrentUpdates?" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


# --- Node.js banner ------------------------------------------------------------------------------


def _without_jsii_silencing() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("JSII_SILENCE_WARNING")
    }


def test_app_py_keeps_the_jsii_node_banner_out_of_cdk_commands() -> None:
    # Given the environment `npx cdk ...` gives app.py (no JSII_SILENCE_WARNING_* set)
    # When app.py starts the CDK (jsii checks the Node.js version when it starts)
    result = subprocess.run(
        [sys.executable, "-c", "import app, aws_cdk; aws_cdk.App()"],
        cwd=ROOT,
        env=_without_jsii_silencing(),
        capture_output=True,
        text=True,
        check=False,
    )
    # Then nothing reaches the terminal but its own output: no raw b'!! ... !!' banner
    assert result.returncode == 0, result.stderr
    assert "end-of-life" not in result.stderr and "b'!!" not in result.stderr
