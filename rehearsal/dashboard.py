"""The dashboard as the synthesized template deploys it: each widget's title, what it shows
(infra/constructs/dashboard.py SHOWS) and the metrics, alarms and lines it draws, read back
from the template's DashboardBody. `make rehearse` prints it; the infra tests assert it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from infra.constructs.dashboard import SHOWS


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str  # CloudWatch's default, Average, when the widget names none
    period: int | None
    label: str | None

    @property
    def where(self) -> str:
        """The dimensions that matter to a reader (not `service`, the same everywhere; the
        state machine's ARN is the stack's own)."""
        shown = [
            "this state machine" if key == "StateMachineArn" else f"{key}={value}"
            for key, value in self.dimensions
            if key != "service"
        ]
        return f" [{', '.join(shown)}]" if shown else ""


@dataclass(frozen=True)
class Widget:
    title: str
    kind: str  # "metric" (a graph) or "alarm" (alarm states)
    metrics: tuple[Metric, ...] = ()
    alarms: tuple[str, ...] = ()
    lines: tuple[tuple[float, str], ...] = ()  # horizontal annotations: value, label

    @property
    def shows(self) -> str:
        return SHOWS[self.title]


def _placeholder(token: dict[str, Any]) -> str:
    if "Ref" in token:
        return "${" + str(token["Ref"]) + "}"
    if "Fn::GetAtt" in token:
        return "${" + ".".join(token["Fn::GetAtt"]) + "}"
    raise ValueError(f"unexpected token in the dashboard body: {token}")


def dashboard(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template's one dashboard: its properties, and its body with every CloudFormation
    reference written `${LogicalId}` or `${LogicalId.Attribute}`."""
    (resource,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    properties = resource["Properties"]
    body = properties["DashboardBody"]
    if isinstance(body, dict):
        separator, parts = body["Fn::Join"]
        body = separator.join(p if isinstance(p, str) else _placeholder(p) for p in parts)
    return properties, json.loads(body)


def widgets(template: dict[str, Any]) -> list[Widget]:
    found = []
    for widget in dashboard(template)[1]["widgets"]:
        properties = widget["properties"]
        metrics = []
        for entry in properties.get("metrics", []):
            *names, options = entry if isinstance(entry[-1], dict) else (*entry, {})
            namespace, name, *pairs = names
            metrics.append(
                Metric(
                    namespace=namespace,
                    name=name,
                    dimensions=tuple(zip(pairs[::2], pairs[1::2], strict=True)),
                    statistic=options.get("stat", "Average"),
                    period=options.get("period"),
                    label=options.get("label"),
                )
            )
        lines = tuple(
            (float(a["value"]), str(a.get("label", "")))
            for a in properties.get("annotations", {}).get("horizontal", [])
        )
        found.append(
            Widget(
                title=properties["title"],
                kind=widget["type"],
                metrics=tuple(metrics),
                alarms=tuple(properties.get("alarms", ())),
                lines=lines,
            )
        )
    return found


def alarm_names(template: dict[str, Any], widget: Widget) -> list[str]:
    """The AlarmName of each alarm the widget shows (`${LogicalId.Arn}` in the body)."""
    resources = template["Resources"]
    return [
        resources[arn.removeprefix("${").removesuffix(".Arn}")]["Properties"]["AlarmName"]
        for arn in widget.alarms
    ]


def describe(template: dict[str, Any]) -> list[str]:
    """The dashboard in an admin's words, a widget a line, then what it draws."""
    lines = []
    for number, widget in enumerate(widgets(template), 1):
        lines.append(f"  {number}. {widget.title}: {widget.shows}")
        groups: dict[tuple[str, str, str], list[str]] = {}
        for metric in widget.metrics:
            key = (metric.namespace, metric.statistic, metric.where)
            groups.setdefault(key, []).append(metric.name)
        drawn = [
            f"{namespace} {', '.join(dict.fromkeys(names))} ({statistic}){where}"
            for (namespace, statistic, where), names in groups.items()
        ]
        drawn += [f"alarm {name}" for name in alarm_names(template, widget)]
        drawn += [f"line at {value:g} ({label})" for value, label in widget.lines]
        lines.append("       " + "; ".join(drawn))
    return lines
