"""A spoke's functions: discover, and the roll-out's steps (the hub's; plan, fleets and health
in their spoke form, which see the hub's images)."""

from __future__ import annotations

from constructs import Construct

from image_updater.settings import SpokeSettings
from infra.config import UpdaterConfig
from infra.constructs.functions import _SLOW, RolloutFunctions


class SpokeFunctions(RolloutFunctions):
    def __init__(self, scope: Construct, construct_id: str, *, config: UpdaterConfig) -> None:
        super().__init__(scope, construct_id, config=config)
        self.discover = self._function("spoke_discover", SpokeSettings, timeout=_SLOW)
        self._add_rollout("spoke", (SpokeSettings,))
