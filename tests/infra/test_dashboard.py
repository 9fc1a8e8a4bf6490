"""The operations dashboard (infra/constructs/dashboard.py) as the template deploys it: each
widget's title and metrics, the alarms it shows, its name and URL; the maxPatchAgeDays alarm
(threshold, missing data, the way its e-mail reaches the topic); and every metric it reads is
one a function emits."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from aws_cdk.assertions import Capture, Template

from image_updater.observability import NAMESPACE, SERVICE
from infra.config import ConfigError, cdk_json_feature_flags, load_config
from infra.constructs.dashboard import (
    ALARMS,
    CHECKS,
    DURATION,
    HUB_WIDGETS,
    IMAGES,
    PATCH_AGE,
    QUOTA,
    ROLLOUTS,
    RUNS,
    SHOWS,
    SPOKE_WIDGETS,
)
from infra.spoke.config import refuse_hub_only_keys
from rehearsal import dashboard
from rehearsal.template import template_json
from tests.infra.conftest import Synth
from tests.infra.test_spoke_stack import SPOKE, SPOKE_CONTEXT
from tests.infra.test_stack import (
    _CLOUDWATCH,
    _KEY_ACTIONS,
    _alarm_arn,
    _only,
    _publishers,
    _resource_policy,
    _statements,
)

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas" / "image_updater"
OURS = NAMESPACE
DAY = 86400
RUN_OUTCOMES = [
    "ExecutionsStarted",
    "ExecutionsSucceeded",
    "ExecutionsFailed",
    "ExecutionsTimedOut",
    "ExecutionsAborted",
]


def drawn(widget: dashboard.Widget) -> list[tuple[str, str, str, str]]:
    """(namespace, metric, statistic, dimensions other than service) of each metric."""
    return [(m.namespace, m.name, m.statistic, m.where.strip()) for m in widget.metrics]


def by_title(template: Template) -> dict[str, dashboard.Widget]:
    return {widget.title: widget for widget in dashboard.widgets(template.to_json())}


@pytest.fixture(scope="module")
def patch_age_30(synth: Synth) -> Template:
    return synth(maxPatchAgeDays="30")


@pytest.fixture(scope="module")
def spoke() -> Template:
    return Template.from_json(template_json({**cdk_json_feature_flags(), **SPOKE_CONTEXT}))


def test_the_hub_s_widgets_each_draw_what_their_title_says(template: Template) -> None:
    widgets = by_title(template)
    assert list(widgets) == list(HUB_WIDGETS)
    machine = _only(template, "AWS::StepFunctions::StateMachine")
    assert drawn(widgets[RUNS]) == [
        ("AWS/States", name, "Sum", "[this state machine]") for name in RUN_OUTCOMES
    ]
    assert {m.dimensions for m in widgets[RUNS].metrics} == {
        (("StateMachineArn", "${" + machine + "}"),)
    }
    assert drawn(widgets[CHECKS]) == [
        (OURS, "UpdatesStarted", "Sum", ""),
        (OURS, "NoUpdate", "Sum", ""),
        (OURS, "LateReports", "Sum", ""),
    ]
    assert drawn(widgets[IMAGES]) == [
        (OURS, "UpdatesSucceeded", "Sum", ""),
        (OURS, "UpdatesFailed", "Sum", ""),
        (OURS, "UpdatesTimedOut", "Sum", ""),
        (OURS, "ImagesDeleted", "Sum", ""),
    ]
    assert drawn(widgets[DURATION]) == [
        (OURS, "UpdateDurationMinutes", "Average", ""),
        (OURS, "UpdateDurationMinutes", "Maximum", ""),
    ]
    assert drawn(widgets[ROLLOUTS]) == [
        (OURS, "FleetsChanged", "Sum", ""),
        (OURS, "FleetsRolledBack", "Sum", ""),
    ]
    assert drawn(widgets[QUOTA]) == [(OURS, "PrivateImages", "Maximum", "")]
    assert widgets[QUOTA].lines == ((10.0, "default images quota"),)
    # one line per configured image, and no threshold line while maxPatchAgeDays is 0
    assert drawn(widgets[PATCH_AGE]) == [
        (OURS, "PatchAgeDays", "Maximum", "[Lineage=ImgA]"),
        (OURS, "PatchAgeDays", "Maximum", "[Lineage=ImgB]"),
    ]
    assert widgets[PATCH_AGE].lines == ()
    assert widgets[ALARMS].kind == "alarm" and widgets[ALARMS].metrics == ()


def test_the_functions_metrics_are_read_as_they_are_emitted(template: Template) -> None:
    # Powertools adds service=<service> to each; PatchAgeDays per lineage adds only Lineage
    for widget in dashboard.widgets(template.to_json()):
        for metric in widget.metrics:
            assert metric.period == DAY, (widget.title, metric.name)
            if metric.namespace == OURS:
                assert ("service", SERVICE) in metric.dimensions
                assert {k for k, _ in metric.dimensions} <= {"service", "Lineage"}


def test_the_alarms_widget_shows_every_alarm(template: Template, patch_age_30: Template) -> None:
    for deployed, count in ((template, 2), (patch_age_30, 3)):
        widget = by_title(deployed)[ALARMS]
        names = dashboard.alarm_names(deployed.to_json(), widget)
        assert sorted(names) == sorted(
            alarm["Properties"]["AlarmName"]
            for alarm in deployed.find_resources("AWS::CloudWatch::Alarm").values()
        )
        assert len(names) == count


def test_named_like_the_state_machine_and_linked_from_an_output(template: Template) -> None:
    machine = _only(template, "AWS::StepFunctions::StateMachine")
    properties, _body = dashboard.dashboard(template.to_json())
    # the e-mails build the link from the execution ARN, which names the state machine
    assert properties["DashboardName"] == {"Fn::GetAtt": [machine, "Name"]}
    board = _only(template, "AWS::CloudWatch::Dashboard")
    url = template.to_json()["Outputs"]["DashboardUrl"]["Value"]
    assert url == {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": "AWS::Region"},
                ".console.aws.amazon.com/cloudwatch/home?region=",
                {"Ref": "AWS::Region"},
                "#dashboards/dashboard/",
                {"Ref": board},
            ],
        ]
    }


def _constants(tree: ast.Module) -> dict[str, set[str]]:
    """A module's constants holding metric names: a string, or a table of them (by outcome)."""
    found: dict[str, set[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if isinstance(node.value, ast.Constant):
            values = {str(node.value.value)}
        elif isinstance(node.value, ast.Dict):
            values = {str(v.value) for v in node.value.values if isinstance(v, ast.Constant)}
        else:
            continue
        found |= {t.id: values for t in node.targets if isinstance(t, ast.Name)}
    return found


def _emitted() -> set[str]:
    """Every metric name a function emits: the first argument of count() or per_lineage()
    (a literal, or a module-level constant or table of the same module)."""
    names: set[str] = set()
    for path in LAMBDAS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("count", "per_lineage")
                and node.args
            ):
                continue
            first = node.args[0]
            if isinstance(first, ast.Subscript):  # count(TABLE[key])
                first = first.value
            if isinstance(first, ast.Constant):
                names.add(str(first.value))
            elif isinstance(first, ast.Name):
                names |= constants.get(first.id, set())
    return names


def test_every_metric_the_dashboard_reads_is_one_a_function_emits(
    template: Template, spoke: Template
) -> None:
    emitted = _emitted()
    assert {"UpdatesStarted", "PatchAgeDays", "EventsNotPublished"} <= emitted
    for deployed in (template, spoke):
        read = {
            metric.name
            for widget in dashboard.widgets(deployed.to_json())
            for metric in widget.metrics
            if metric.namespace == OURS
        }
        assert read and read <= emitted, read - emitted


def test_the_spoke_shows_the_roll_out_s_part(spoke: Template) -> None:
    widgets = by_title(spoke)
    assert list(widgets) == list(SPOKE_WIDGETS)
    assert drawn(widgets[RUNS]) == [
        ("AWS/States", name, "Sum", "[this state machine]") for name in RUN_OUTCOMES
    ]
    assert drawn(widgets[ROLLOUTS]) == [
        (OURS, "FleetsChanged", "Sum", ""),
        (OURS, "FleetsRolledBack", "Sum", ""),
    ]
    assert len(dashboard.alarm_names(spoke.to_json(), widgets[ALARMS])) == 2
    assert "DashboardUrl" in spoke.to_json()["Outputs"]


# --- maxPatchAgeDays --------------------------------------------------------------------------


def test_no_patch_age_alarm_by_default(template: Template) -> None:
    names = [
        a["Properties"]["AlarmName"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    ]
    assert not [name for name in names if "PatchesTooOld" in name]


def test_patches_older_than_max_patch_age_days_alarm_the_topic(patch_age_30: Template) -> None:
    topic = Capture()
    patch_age_30.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "AppStreamImageUpdater-PatchesTooOld",
            "Namespace": OURS,
            "MetricName": "PatchAgeDays",
            # without the lineage: the oldest of all, however many images are configured
            "Dimensions": [{"Name": "service", "Value": SERVICE}],
            "Statistic": "Maximum",
            "Period": DAY,
            "EvaluationPeriods": 1,
            "Threshold": 30,
            # more than 30 days old: 30 is still fine
            "ComparisonOperator": "GreaterThanThreshold",
            # runs are days apart: no data keeps the state (not OK, not ALARM)
            "TreatMissingData": "ignore",
            "AlarmActions": [{"Ref": topic}],
        },
    )
    assert topic.as_string() in patch_age_30.find_resources("AWS::SNS::Topic")
    # and the dashboard draws the threshold
    assert by_title(patch_age_30)[PATCH_AGE].lines == ((30.0, "maxPatchAgeDays"),)


def test_the_patch_age_alarm_is_let_through_the_topic_and_key_policies(
    patch_age_30: Template,
) -> None:
    topic = _only(patch_age_30, "AWS::SNS::Topic")
    # Given the publishers the template makes, traced as tests/infra/test_stack.py traces them
    alarm = _publishers(patch_age_30, topic)["alarm AppStreamImageUpdater-PatchesTooOld"]
    assert alarm["context"]["aws:SourceArn"] == _alarm_arn("AppStreamImageUpdater-PatchesTooOld")
    topic_policy = _statements(patch_age_30, "AWS::SNS::TopicPolicy", "PolicyDocument")
    key_policy = _statements(patch_age_30, "AWS::KMS::Key", "KeyPolicy")
    # Then the topic policy lets it publish and the key policy lets SNS encrypt for it
    assert _resource_policy(topic_policy, "topic policy", alarm, ("sns:Publish",)) == (
        False,
        ["topic policy AllowThisStacksAlarmsToPublish"],
    )
    assert _resource_policy(key_policy, "key policy", alarm, _KEY_ACTIONS) == (
        False,
        ["key policy AllowThisStacksAlarmsToUseTheKey"],
    )
    # and the same statements still name each alarm, no wildcard
    (statement,) = [s for s in topic_policy if s.get("Principal") == {"Service": _CLOUDWATCH}]
    assert len(statement["Condition"]["ArnLike"]["aws:SourceArn"]) == 3


def test_max_patch_age_days_is_checked_and_refused_in_a_spoke() -> None:
    assert load_config({"imageNames": "ImgA"}).max_patch_age_days == 0
    assert load_config({"imageNames": "ImgA", "maxPatchAgeDays": "45"}).max_patch_age_days == 45
    for bad in ("-1", "366", "soon"):
        with pytest.raises(ConfigError) as refused:
            load_config({"imageNames": "ImgA", "maxPatchAgeDays": bad})
        assert any(line.startswith("maxPatchAgeDays") for line in refused.value.problems)
    with pytest.raises(ConfigError) as refused:
        refuse_hub_only_keys(load_config({"imageNames": "ImgA", **SPOKE, "maxPatchAgeDays": "30"}))
    assert any(line.startswith("maxPatchAgeDays: ") for line in refused.value.problems)


def test_make_rehearse_lists_each_widget_and_what_it_draws(
    template: Template, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the deployed template / When the rehearsal prints its header
    from rehearsal.__main__ import _print_header
    from rehearsal.scenarios import SCENARIOS
    from rehearsal.template import SynthesizedApp

    _print_header(SCENARIOS["default"], SimpleNamespace(app=SynthesizedApp(template.to_json())))
    printed = capsys.readouterr().out

    # Then every widget is listed in order with what it shows, then what it draws
    listing = printed.split("Dashboard deployed with the stack")[1].split("\n\n")[0]
    lines = listing.strip("\n").split("\n")[1:]
    assert [line.strip() for line in lines[::2]] == [
        f"{number}. {title}: {SHOWS[title]}" for number, title in enumerate(HUB_WIDGETS, 1)
    ]
    drawn_lines = dict(zip(HUB_WIDGETS, lines[1::2], strict=True))
    assert "ExecutionsStarted, ExecutionsSucceeded, ExecutionsFailed" in drawn_lines[RUNS]
    assert "alarm AppStreamImageUpdater-ExecutionsUnsuccessful" in drawn_lines[ALARMS]
    assert "line at 10 (default images quota)" in drawn_lines[QUOTA]
    assert "PatchAgeDays (Maximum) [Lineage=ImgA]" in drawn_lines[PATCH_AGE]
