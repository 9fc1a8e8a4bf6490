"""The create step waits out another run's create in the workflow, never inside a Lambda: its
retries of LineageBusy and UpdatesLockBusy must outlast what they wait for."""

from __future__ import annotations

from datetime import timedelta

from aws_cdk.assertions import Template

from image_updater.update.ledger import LOCK_HOLD
from image_updater.update.recorded_creates import UNCONFIRMED_HOLD
from infra.workflow import states as names
from tests.infra.conftest import all_states, definition


def test_a_busy_create_is_retried_for_longer_than_a_create_on_record_is_believed(
    template: Template,
) -> None:
    # Given the create step's retry of the two "another run is starting one" errors
    create = all_states(definition(template)["States"])[names.CREATE]
    (busy,) = [r for r in create["Retry"] if "LineageBusy" in r["ErrorEquals"]]
    assert busy["ErrorEquals"] == ["LineageBusy", "UpdatesLockBusy"]

    # When its waits are added up
    waits = [
        busy["IntervalSeconds"] * busy["BackoffRate"] ** attempt
        for attempt in range(busy["MaxAttempts"])
    ]

    # Then a run outwaits a create on record the listing does not show (and any lock), so
    # one run settles it: it follows the image, or finds the record stale and goes ahead
    assert timedelta(seconds=sum(waits)) > UNCONFIRMED_HOLD > LOCK_HOLD
