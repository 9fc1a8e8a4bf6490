"""A spoke's functions: discover, and the roll-out's steps (the hub's; plan, fleets and health
in their spoke form, which see the hub's images)."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from image_updater.spoke.settings import SpokeSettings
from infra.config import UpdaterConfig
from infra.constructs.functions import _SLOW, RolloutFunctions


class SpokeFunctions(RolloutFunctions):
    def __init__(self, scope: Construct, construct_id: str, *, config: UpdaterConfig) -> None:
        super().__init__(scope, construct_id, config=config)
        self.discover = self._function("spoke_discover", SpokeSettings, timeout=_SLOW)
        self._add_rollout("spoke", (SpokeSettings,))
        # The e-mailed run-now commands name this stack (run-now's default is the hub's).
        self.rollout_report.add_environment("RUN_NOW_STACK", Stack.of(self).stack_name)
