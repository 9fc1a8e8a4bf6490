"""Bad input, tried and answered: properties over the execution input and over the requests
that configuration values turn into."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from image_updater.domain import naming
from image_updater.domain.run_input import plan_run
from image_updater.errors import InvalidExecutionInput
from rehearsal.appstream import request_violations

CONFIGURED = ["SalesApps", "EngineeringTools"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Inputs close to valid ones: the real keys with any values, plus stray keys.
near_valid_inputs = st.fixed_dictionaries(
    {},
    optional={
        "images": st.lists(st.sampled_from([*CONFIGURED, "Other", ""]), max_size=4) | json_values,
        "dryRun": st.booleans() | json_values,
        "image": json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(raw=json_values | near_valid_inputs)
def test_any_execution_input_is_planned_or_refused_with_a_clear_message(raw: Any) -> None:
    # Given any JSON a hand-started run could carry
    # When the plan step reads it
    try:
        plan = plan_run(raw, CONFIGURED)
    except InvalidExecutionInput as refusal:
        # Then it is refused naming what the run accepts (the failure e-mail quotes this)
        message = str(refusal)
        assert message.startswith("The run was not started")
        assert "Configured images: SalesApps, EngineeringTools" in message
        assert '{"images": ["MyImage"], "dryRun": false}' in message
        return
    # or it is a plan the workflow can run: known images, once each, a real boolean
    assert plan["images"] and set(plan["images"]) <= set(CONFIGURED)
    assert len(set(plan["images"])) == len(plan["images"])
    assert isinstance(plan["dryRun"], bool)
    json.dumps(plan)


roots = st.from_regex(naming.IMAGE_NAME_PATTERN, fullmatch=True).filter(
    lambda name: naming.image_name_problem(name) is None
)
tag_text = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs")) | st.sampled_from("_.:/=+-@"),
    max_size=40,
)
tags = st.dictionaries(tag_text.filter(bool), tag_text, max_size=6).filter(
    lambda pairs: all(naming.tag_problem(k, v) is None for k, v in pairs.items())
)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(root=roots, source_suffix=st.booleans(), extra_tags=tags, started=moments)
def test_configuration_cannot_produce_a_request_appstream_would_refuse(
    root: str, source_suffix: bool, extra_tags: dict[str, str], started: datetime
) -> None:
    # Given any root and tags that pass the configuration's validation, and either the root
    # or an earlier image of its lineage as the source
    source = (
        naming.derived_image_name(root, datetime(2019, 1, 1, tzinfo=UTC)) if source_suffix else root
    )
    # When the create step builds its request
    params = {
        "existingImageName": source,
        "newImageName": naming.derived_image_name(root, started),
        "newImageDescription": naming.new_image_description(source, started),
        "newImageDisplayName": naming.new_image_display_name(root, started),
        "newImageTags": naming.new_image_tags(extra_tags, root, source),
        "dryRun": False,
    }
    # Then every service-side constraint of the botocore model holds
    assert request_violations("CreateUpdatedImage", params) == []
