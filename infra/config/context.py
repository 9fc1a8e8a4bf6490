"""The context around the settings: cdk.json's values and the context keys that are the CDK's.

The CDK CLI merges cdk.json's context into the app's, but code that builds an App in-process
(tests, tools) never sees cdk.json, so `load_config` reads it itself. A context key that is
neither a setting nor the CDK's is refused with the nearest setting's name.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from infra.config.table import KEYS

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The configuration defaults in cdk.json (its context without the feature flags)."""
    return {key: value for key, value in _cdk_json_full_context().items() if key in KEYS}


def cdk_json_feature_flags() -> dict[str, Any]:
    """cdk.json's feature flags, for apps built in-process to synthesize as the CLI would."""
    return {key: value for key, value in _cdk_json_full_context().items() if key not in KEYS}


def _cdk_json_full_context() -> dict[str, Any]:
    if not CDK_JSON.exists():
        return {}
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return context


# Context keys that belong to the CDK, not to this app: feature flags (`@aws-cdk/...`), the
# settings the CLI passes to every app (`aws:cdk:enable-path-metadata`, `aws:cdk:bundling-stacks`,
# ...), the CLI's own records in cdk.context.json (`cdk acknowledge`, `cdk cli-telemetry`) and
# cached lookups, keyed `<provider>:<query>` (aws-cdk-lib's cloud_assembly_schema.ContextProvider).
CDK_KEY_PREFIXES = ("@", "aws:cdk:")
CDK_CLI_KEYS = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})
CDK_LOOKUP_PROVIDERS = frozenset(
    {
        *("ami", "availability-zones", "hosted-zone", "ssm", "vpc-provider"),
        *("endpoint-service-availability-zones", "load-balancer", "load-balancer-listener"),
        *("security-group", "key-provider", "cc-api-provider", "plugin"),
    }
)


def is_cdk_context_key(key: str) -> bool:
    """Whether a context key is the CDK's own (the CLI and aws-cdk-lib read it, not this app)."""
    provider, colon, _query = key.partition(":")
    return (
        key.startswith(CDK_KEY_PREFIXES)
        or key in CDK_CLI_KEYS
        or bool(colon and provider in CDK_LOOKUP_PROVIDERS)
    )


def unknown_key_problems(keys: Iterable[str]) -> list[str]:
    """One problem per context key that is neither a setting nor the CDK's, naming the closest.

    Without this a misspelled key (`-c imageName=Foo`) is ignored and the stack deploys with
    cdk.json's value instead.
    """
    folded = {known.casefold(): known for known in KEYS}
    problems = []
    for key in keys:
        if key in KEYS or is_cdk_context_key(key):
            continue
        close = difflib.get_close_matches(key.casefold(), folded, n=1)
        hint = (
            f"did you mean {folded[close[0]]}?" if close else f"the settings are {', '.join(KEYS)}"
        )
        problems.append(f"{key}: unknown key, {hint}")
    return problems
