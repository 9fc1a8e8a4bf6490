"""The updater's configuration: read from CDK context, checked before anything is synthesized.

Each setting is declared once (declaration.py: context key, type, default, rule, description).
The values come from the context (`cdk deploy -c key=value` strings are parsed: parsing.py),
else cdk.json, else the declared default; the rules live by what they check (schedule.py,
values.py, history.py, infra/approvers.py), and keys that are the CDK's own or misspelled are
told apart in context.py.
"""

from infra.config.context import cdk_json_context, cdk_json_feature_flags
from infra.config.declaration import UpdaterConfig
from infra.config.loading import ConfigError, config_warnings, load_app_config, load_config
from infra.config.table import KEYS, SETTINGS, Setting

__all__ = [
    "KEYS",
    "SETTINGS",
    "ConfigError",
    "Setting",
    "UpdaterConfig",
    "cdk_json_context",
    "cdk_json_feature_flags",
    "config_warnings",
    "load_app_config",
    "load_config",
]
