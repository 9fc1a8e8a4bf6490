"""Each function is given the settings its handler reads, and no other (besides Powertools')."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from image_updater.settings import FromEnvironment
from infra.constructs.functions import LAMBDAS_DIR
from infra.constructs.lambda_code import runtime_files

POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
ROLLOUT_MESSAGES = {
    "CANARY_SOAK_HOURS",
    "CANARY_ALARM_NAMES",
    "REQUIRE_APPROVAL",
    "APPROVAL_TIMEOUT_HOURS",
    "ROLLOUT_WINDOW",
    "SCHEDULE_TIMEZONE",
}
# Handler module -> its variables besides Powertools', with cdk.json's roll-out settings.
PINNED = {
    "plan": {"CONFIGURED_IMAGES"},
    "check": {"LEDGER_TABLE"},
    "create": {
        "CONFIGURED_IMAGES",
        "NEW_IMAGE_TAGS",
        "MAX_CONCURRENT_UPDATES",
        "KEEP_IMAGES",
        "LEDGER_TABLE",
    },
    "poll": {"MAX_POLLS", "LEDGER_TABLE"},
    "report": {"MAX_UPDATE_HOURS"},
    "retain": {"KEEP_IMAGES", "LEDGER_TABLE"},
    "breaker": {
        "MAX_CONSECUTIVE_FAILED_RUNS",
        "MAX_UPDATE_HOURS",
        "SCHEDULE_NAME",
        "SCHEDULE_GROUP",
        "LEDGER_TABLE",
    },
    "rollout_plan": {"REQUIRE_APPROVAL", "ALLOW_UNTESTED_PRODUCTION"},
    "rollout_fleets": {"LEDGER_TABLE"},
    "rollout_health": {"CANARY_ALARM_NAMES"},
    "rollout_approval": {"LEDGER_TABLE"},
    "rollout_window": {"ROLLOUT_WINDOW", "SCHEDULE_TIMEZONE"},
    "rollout_report": {*ROLLOUT_MESSAGES, "MAX_UPDATE_HOURS"},
    "rollout_verify": {"LEDGER_TABLE"},
    "approval_url": {"APPROVERS", "LEDGER_TABLE"},
}
_FROM_ENV = re.compile(r"\b(\w+)\.from_env\(")
_ENVIRON = re.compile(r"os\.environ(?:\.get\(|\[)\"(\w+)\"")


def environments(template: Template) -> dict[str, dict[str, Any]]:
    """Handler module -> its function's environment variables."""
    return {
        function["Properties"]["Handler"].split(".")[-2]: function["Properties"]["Environment"][
            "Variables"
        ]
        for function in template.find_resources("AWS::Lambda::Function").values()
    }


@cache
def settings_classes() -> dict[str, type[FromEnvironment]]:
    """Every function's settings, by class name: each capability declares its functions' in
    its own `settings.py` (image_updater/<capability>/settings.py)."""
    found: dict[str, type[FromEnvironment]] = {}
    for path in sorted((LAMBDAS_DIR / "image_updater").glob("*/settings.py")):
        module = importlib.import_module(
            ".".join(path.relative_to(LAMBDAS_DIR).with_suffix("").parts)
        )
        for name, kind in vars(module).items():
            if (
                isinstance(kind, type)
                and issubclass(kind, FromEnvironment)
                and kind.__module__ == module.__name__
            ):
                assert name not in found, f"two settings classes named {name}"
                found[name] = kind
    return found


def read_by_code(module: str) -> tuple[set[str], set[str]]:
    """The variables a handler's asset reads: (settings it must be given, all it may read).

    The settings objects it builds (`X.from_env()`) say theirs; other variables are read by name
    (`os.environ["LEDGER_TABLE"]`), some only on some paths, so those may be absent.
    """
    required: set[str] = set()
    readable: set[str] = set()
    for path in runtime_files(LAMBDAS_DIR, (module,)):
        source = (LAMBDAS_DIR / Path(path)).read_text(encoding="utf-8")
        for name in _FROM_ENV.findall(source):
            kind = settings_classes().get(name)
            if kind is not None:
                required |= set(kind.variables())
                readable |= {*kind.variables(), *kind.optional_variables()}
        readable |= set(_ENVIRON.findall(source))
    return required, readable


def test_each_function_has_exactly_its_pinned_variables(template: Template) -> None:
    # Given the default roll-out settings (approval required: 15 functions)
    found = environments(template)

    # Then each function holds Powertools' variables and its own, no other
    assert set(found) == set(PINNED)
    for module, variables in found.items():
        assert set(variables) == POWERTOOLS | PINNED[module], module


def test_no_function_gets_a_variable_its_code_does_not_read(template: Template) -> None:
    for module, variables in environments(template).items():
        # Given what the modules in its asset read
        required, readable = read_by_code(module)

        # Then it is given every setting it builds, and nothing its code never reads
        assert required <= set(variables), module
        assert set(variables) - POWERTOOLS <= readable, module


def test_settings_values_come_from_the_configuration(template: Template) -> None:
    found = environments(template)
    assert found["plan"]["CONFIGURED_IMAGES"] == '["ImgA", "ImgB"]'
    assert found["create"]["NEW_IMAGE_TAGS"] == '{"CostCenter": "EUC"}'
    assert found["create"]["MAX_CONCURRENT_UPDATES"] == "3"
    assert found["poll"]["MAX_POLLS"] == "72"
    assert found["rollout_plan"]["REQUIRE_APPROVAL"] == "true"
    assert found["rollout_window"]["SCHEDULE_TIMEZONE"] == "Europe/Paris"


def test_every_settings_class_is_found_where_its_capability_declares_it() -> None:
    # Given each capability's settings module (a class elsewhere would escape the checks above)
    found = settings_classes()

    # Then every function's settings class is one of them, one per name
    assert set(found) == {
        "PlanSettings",
        "CreateSettings",
        "PollSettings",
        "ReportSettings",
        "RetainSettings",
        "BreakerSettings",
        "RolloutPlanSettings",
        "HealthSettings",
        "WindowSettings",
        "RolloutSettings",
        "SpokeSettings",
        "DistributeSettings",
    }
    assert set(FromEnvironment.__subclasses__()) == set(found.values())
