"""Synthesizes the CDK app in-process and reads what the offline run needs from the template."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from infra.workflow.states import WAIT
from rehearsal.synth_cache import TemplateCache

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Context for an in-process synth that never reads the staged asset files: aws-cdk-lib's
# cxapi.DISABLE_ASSET_STAGING_CONTEXT (not exported to Python). Each cdk.App stages into a new
# temporary outdir, and the staging cache is keyed by it, so every synth otherwise copies all
# the Lambda assets again (about 0.9 s of a 2.4 s synth). The asset hash is computed from the
# source either way, so the template is the same (tests/infra/test_app.py checks it). Where
# the files are read (rehearsal/bench.py, tests/infra/test_lambda_code.py), stage for real.
UNSTAGED = {"aws:cdk:disable-asset-staging": True}


@dataclass(frozen=True)
class SynthesizedApp:
    template: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    @property
    def handlers(self) -> dict[str, str]:
        """Lambda logical id -> handler ("module.function")."""
        return {
            logical_id: resource["Properties"]["Handler"]
            for logical_id, resource in self.resources("AWS::Lambda::Function").items()
        }

    @property
    def function_environment(self) -> dict[str, str]:
        """The functions' environment; they share one, which the runner applies once. A
        variable only some functions have (e.g. the ledger's table) must agree where set;
        the table's physical name offline is its logical id."""
        references = {table: table for table in self.resources("AWS::DynamoDB::GlobalTable")}
        merged: dict[str, str] = {}
        for resource in self.resources("AWS::Lambda::Function").values():
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            for key, value in variables.items():
                resolved = _resolve(value, references)
                if merged.setdefault(key, resolved) != resolved:
                    raise ValueError(f"functions disagree on environment variable {key}")
        return merged

    @property
    def ledger_table(self) -> dict[str, Any]:
        """The ledger table: logical id (its name offline) and key schema."""
        ((logical_id, table),) = self.resources("AWS::DynamoDB::GlobalTable").items()
        return {"name": logical_id, **table["Properties"]}

    @property
    def topic_id(self) -> str:
        (logical_id,) = self.resources("AWS::SNS::Topic")
        return logical_id

    @property
    def state_machine(self) -> dict[str, Any]:
        """The run's state machine: the one the schedule starts."""
        return self.resources("AWS::StepFunctions::StateMachine")[self.state_machine_id]

    @property
    def state_machine_id(self) -> str:
        (logical_id,) = _referenced(self.schedule["Properties"]["Target"]["Arn"])
        return logical_id

    @property
    def child_state_machines(self) -> dict[str, dict[str, Any]]:
        """The state machines the run starts executions of (each image's distribution)."""
        machines = self.resources("AWS::StepFunctions::StateMachine")
        return {i: m for i, m in machines.items() if i != self.state_machine_id}

    @property
    def schedule(self) -> dict[str, Any]:
        (schedule,) = self.resources("AWS::Scheduler::Schedule").values()
        return schedule

    def schedule_request(self, references: dict[str, str]) -> dict[str, Any]:
        """CreateSchedule's request for the template's schedule, named as the template names
        it (its properties are the API's fields), with `references` resolved."""
        properties: dict[str, Any] = _resolve_all(self.schedule["Properties"], references)
        return properties

    @property
    def schedule_input(self) -> Any:
        """The execution input every scheduled run receives."""
        return json.loads(self.schedule["Properties"]["Target"]["Input"])

    @property
    def poll_interval_minutes(self) -> int:
        """The Wait state's interval, read back from the definition."""
        references = {**self.handlers, self.topic_id: "topic"}
        references |= {child: child for child in self.child_state_machines}
        states = _all_states(json.loads(self.definition(references, region="r", account="a")))
        (seconds,) = {s["Seconds"] for name, s in states.items() if name == WAIT}
        return int(seconds) // 60

    def definition(
        self,
        references: dict[str, str],
        *,
        region: str,
        account: str,
        machine: str | None = None,
    ) -> str:
        """The definition of the run's state machine (or of the state machine `machine`, a
        logical id) with its CloudFormation references resolved."""
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        # The ledger's name offline is its logical id (the workflow marks reports sent in it).
        ledger = self.ledger_table["name"]
        resolved: str = _resolve(
            (
                self.state_machine
                if machine is None
                else self.resources("AWS::StepFunctions::StateMachine")[machine]
            )["Properties"]["DefinitionString"],
            {**pseudo, ledger: ledger, **references},
        )
        return resolved


def _referenced(value: Any) -> set[str]:
    """The logical ids a template value refers to with Ref."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return {value["Ref"]}
        return set().union(*(_referenced(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_referenced(v) for v in value))
    return set()


def _all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state by name, including those inside Map and Parallel states."""
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        for nested in (
            state.get("ItemProcessor"),
            state.get("Iterator"),
            *state.get("Branches", []),
        ):
            if nested:
                found.update(_all_states(nested))
    return found


def _resolve_all(value: Any, references: dict[str, str]) -> Any:
    """`_resolve` throughout a resource's properties."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _INTRINSICS:
        return _resolve(value, references)
    if isinstance(value, dict):
        return {key: _resolve_all(item, references) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_all(item, references) for item in value]
    return value


_INTRINSICS = ("Ref", "Fn::GetAtt", "Fn::Join")


def _resolve(value: Any, references: dict[str, str]) -> Any:
    """Enough of CloudFormation's intrinsics for a definition string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return references[argument]
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            if attribute != "Arn":
                raise ValueError(f"unsupported attribute {attribute} of {logical_id}")
            return references[logical_id]
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(_resolve(part, references) for part in parts)
    raise ValueError(f"unsupported CloudFormation expression: {value!r}")


# Where templates are kept between processes (tests/conftest.py sets it); empty: not kept.
_DISK: list[TemplateCache] = []


def keep_templates_in(directory: Path | None) -> None:
    """Share synthesized templates through `directory` (see rehearsal/synth_cache.py)."""
    _DISK[:] = [TemplateCache(directory)] if directory is not None else []


def template_json(context: dict[str, Any]) -> dict[str, Any]:
    """The template app.py synthesizes with exactly `context` (a cdk.App's context)."""

    def synthesize_now() -> dict[str, Any]:
        import aws_cdk as cdk
        from aws_cdk.assertions import Template

        from app import build_app

        app = cdk.App(context={**context, **UNSTAGED})
        return dict(Template.from_stack(build_app(app)).to_json())

    return _DISK[0].template(context, synthesize_now) if _DISK else synthesize_now()


def assembly_in(outdir: Path, context: dict[str, Any]) -> Any:
    """app.py's cloud assembly for exactly `context` (every stack `build_stacks` makes, assets
    staged), written into `outdir` and read back as the CLI reads it (a `cx_api.CloudAssembly`).
    Kept like the templates: a later call with the same context and code copies it."""
    from aws_cdk import App, cx_api

    def synthesize(into: Path) -> None:
        from app import build_stacks

        app = App(outdir=str(into), context=context)
        build_stacks(app)
        app.synth()

    if _DISK:
        _DISK[0].folder({"assembly": context}, synthesize, outdir)
    else:
        synthesize(outdir)
    return cx_api.CloudAssembly(str(outdir))


def kept(
    description: dict[str, Any],
    produce: Callable[[], dict[str, Any]],
    keep: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """Another JSON product of the app's code (an `app.py` run's result, a linter's verdict),
    kept beside the templates under the same kind of key: the code, the libraries and the
    CDK_/AWS_ variables, plus `description` (everything else it depends on). A product
    `keep` refuses is given back and made again next time."""
    return _DISK[0].template(description, produce, keep) if _DISK else produce()


@lru_cache(maxsize=16)
def _synthesize(context_json: str) -> SynthesizedApp:
    return SynthesizedApp(template=template_json(json.loads(context_json)))


def synthesize(context: dict[str, Any]) -> SynthesizedApp:
    """Synthesize with cdk.json's defaults overridden by `context` (cached per context)."""
    return _synthesize(json.dumps(context, sort_keys=True))
