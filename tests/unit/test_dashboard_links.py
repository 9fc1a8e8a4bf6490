"""Every e-mail links the stack's dashboard, built from what the run already knows (its
execution ARN names the state machine, whose name the dashboard carries): no setting needed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from image_updater.domain.messages import MessageContext
from image_updater.models import FAILED, NO_UPDATE, SUCCEEDED, TIMED_OUT, Notification
from image_updater.rollout.messages import compose as compose_rollout
from image_updater.update.messages import compose
from image_updater.update.messages.run_refused import compose_rejected_run
from tests.unit.test_breaker import pause_email
from tests.unit.test_messages import NOW, context, summary, task
from tests.unit.test_rollout_messages import CTX, EVERY_OUTCOME, SETTINGS, rollout

ERROR = {"Error": "AppStreamThrottled", "Cause": "Rate exceeded"}


def dashboard_of(ctx: MessageContext) -> str:
    state_machine = ctx.execution_arn.split(":execution:")[1].split(":")[0]
    return f"{ctx.console}/cloudwatch/home?region={ctx.region}#dashboards/dashboard/{state_machine}"


def update_emails() -> dict[str, Notification]:
    ctx = context()
    return {
        "ready": compose(task(image=summary(), outcome=SUCCEEDED), ctx),
        "failed": compose(task(image=summary(state="FAILED"), outcome=FAILED), ctx),
        "timed out": compose(task(image=summary(state="PENDING"), outcome=TIMED_OUT), ctx),
        "no update": compose(task(outcome=NO_UPDATE), ctx),
        "error": compose(task(), ctx, ERROR),
        "refused run": compose_rejected_run(ctx, ERROR),
    }


@pytest.mark.parametrize("kind", list(update_emails()))
def test_every_update_e_mail_links_the_dashboard(kind: str) -> None:
    body = update_emails()[kind].body
    assert body.count(dashboard_of(context())) == 1
    assert (
        "The updater's dashboard:         https://us-east-1.console.aws.amazon.com/cloudwatch/"
        in (body)
    )


@pytest.mark.parametrize("outcome", EVERY_OUTCOME)
def test_every_roll_out_e_mail_links_the_dashboard(outcome: str) -> None:
    body = compose_rollout(rollout(outcome), CTX, SETTINGS).body
    assert body.count(dashboard_of(CTX)) == 1


def test_the_pause_e_mail_links_the_dashboard() -> None:
    body = pause_email().body
    assert (
        "The updater's dashboard:    https://eu-west-1.console.aws.amazon.com/cloudwatch/home"
        "?region=eu-west-1#dashboards/dashboard/Updater\n" in body
    )


@pytest.mark.parametrize(
    ("partition", "region", "console"),
    [
        ("aws", "eu-west-1", "https://eu-west-1.console.aws.amazon.com"),
        ("aws-cn", "cn-north-1", "https://cn-north-1.console.amazonaws.cn"),
    ],
)
def test_the_link_names_the_run_s_state_machine_in_its_partition(
    partition: str, region: str, console: str
) -> None:
    machine = "WorkflowStateMachine8F1B1C15-Ab3dE"  # as CloudFormation names it
    arn = f"arn:{partition}:states:{region}:123456789012:execution:{machine}:run 1"
    ctx = context(partition, region, arn)
    assert ctx.dashboard_url() == (
        f"{console}/cloudwatch/home?region={region}"
        "#dashboards/dashboard/WorkflowStateMachine8F1B1C15-Ab3dE"
    )


def test_the_ready_e_mail_gives_the_patch_age_of_the_new_image_and_the_one_it_replaces() -> None:
    # Given an update that started at 03:00 and is reported at 05:30 the same day, from the
    # configured image, whose base image was released 40 days before
    released = (NOW - timedelta(days=40, hours=1)).isoformat()
    source = summary("SalesApps")._replace(base_image_released=released)
    mail = compose(task(image=summary(), outcome=SUCCEEDED, source=source), context())

    # Then
    assert (
        "Patch age: 0 days (patched by this update, which started 2026-01-05 03:00 UTC). "
        "SalesApps, which it replaces, had patches 40 days old." in mail.body
    )
