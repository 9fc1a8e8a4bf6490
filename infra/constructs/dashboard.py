"""The operations dashboard: one look at runs, updates, roll-outs, the alarms, the images quota
and patch age, from the functions' own metrics (infra/metrics.py) and Step Functions'.

Built with the CDK's own `aws_cloudwatch.Dashboard` rather than cdk-monitoring-constructs: eight
widgets do not need a second construct library (and its release cadence pinned against
aws-cdk-lib's), and the widgets stay plain enough to assert one by one in the infra tests.

Named like the state machine it watches, so every e-mail can link it from what its run already
knows (the execution ARN names the state machine): no environment variable, no new setting.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, CfnOutput, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import metrics
from infra.metrics import DAY, updater_metric

# The documented default (AppStream quotas page); `run-now status` reads the applied value.
DEFAULT_IMAGES_QUOTA = 10
_WIDTH = 8  # three widgets a row (the grid is 24 wide)
_HEIGHT = 6

# Each widget's title and what it shows, in the dashboard's order (rehearsal and the docs
# list them from here; tests/infra/test_dashboard.py checks the template against it).
RUNS = "Runs and their outcomes"
CHECKS = "What each image's check found"
IMAGES = "Images ready and failed"
DURATION = "Update duration (minutes)"
ROLLOUTS = "Roll-outs and rollbacks (fleets)"
ALARMS = "Alarms"
QUOTA = "Images quota headroom"
PATCH_AGE = "Patch age per lineage (days)"
SHOWS = {
    RUNS: "executions started, succeeded, failed, timed out and aborted (Step Functions)",
    CHECKS: "per image and run: an update started, no update available, or a late report",
    IMAGES: "updates that ended ready, failed or timed out, and older images retention deleted",
    DURATION: "how long the updates that settled took: average and longest",
    ROLLOUTS: "fleets put on a new image (rollbacks included) and canary fleets rolled back",
    ALARMS: "the state of the updater's alarms (each e-mails the topic)",
    QUOTA: "images the account holds against AppStream's default images quota (10 per Region)",
    PATCH_AGE: "days since each lineage's newest image was patched (maxPatchAgeDays: the line)",
}
HUB_WIDGETS = (RUNS, CHECKS, IMAGES, DURATION, ROLLOUTS, ALARMS, QUOTA, PATCH_AGE)
SPOKE_WIDGETS = (RUNS, ROLLOUTS, ALARMS)


def dashboard_url(dashboard: cloudwatch.Dashboard) -> str:
    """The console link (the same one `MessageContext.dashboard_url` builds in the e-mails)."""
    return (
        f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
        f"#dashboards/dashboard/{dashboard.dashboard_name}"
    )


class OperationsDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        alarms: Sequence[cloudwatch.IAlarm],
        lineages: Sequence[str] = (),
        max_patch_age_days: int = 0,
        spoke: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        widgets = {
            RUNS: self._runs(state_machine),
            CHECKS: _graph(
                CHECKS,
                updater_metric(metrics.UPDATES_STARTED, label="update started"),
                updater_metric(metrics.NO_UPDATE, label="no update available"),
                updater_metric(metrics.LATE_REPORTS, label="late report"),
            ),
            IMAGES: _graph(
                IMAGES,
                updater_metric(metrics.UPDATES_SUCCEEDED, label="ready"),
                updater_metric(metrics.UPDATES_FAILED, label="failed"),
                updater_metric(metrics.UPDATES_TIMED_OUT, label="timed out"),
                updater_metric(metrics.IMAGES_DELETED, label="deleted by retention"),
            ),
            DURATION: _graph(
                DURATION,
                updater_metric(metrics.UPDATE_DURATION_MINUTES, "Average", label="average"),
                updater_metric(metrics.UPDATE_DURATION_MINUTES, "Maximum", label="longest"),
            ),
            ROLLOUTS: _graph(
                ROLLOUTS,
                updater_metric(metrics.FLEETS_CHANGED, label="fleets changed"),
                updater_metric(metrics.FLEETS_ROLLED_BACK, label="canaries rolled back"),
            ),
            ALARMS: cloudwatch.AlarmStatusWidget(
                title=ALARMS, alarms=list(alarms), width=_WIDTH, height=_HEIGHT
            ),
            QUOTA: _graph(
                QUOTA,
                updater_metric(metrics.PRIVATE_IMAGES, "Maximum", label="images held"),
                line=(DEFAULT_IMAGES_QUOTA, "default images quota"),
            ),
            PATCH_AGE: _graph(
                PATCH_AGE,
                *(
                    updater_metric(metrics.PATCH_AGE_DAYS, "Maximum", label=root, lineage=root)
                    for root in lineages
                ),
                line=(max_patch_age_days, "maxPatchAgeDays") if max_patch_age_days else None,
            ),
        }
        shown = SPOKE_WIDGETS if spoke else HUB_WIDGETS
        self.widget_titles = shown
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=state_machine.state_machine_name,
            default_interval=Duration.days(42),
            widgets=[
                [widgets[title] for title in shown[start : start + 3]]
                for start in range(0, len(shown), 3)
            ],
        )

    @staticmethod
    def _runs(state_machine: sfn.StateMachine) -> cloudwatch.GraphWidget:
        return _graph(
            RUNS,
            state_machine.metric_started(label="started", period=DAY, statistic="Sum"),
            state_machine.metric_succeeded(label="succeeded", period=DAY, statistic="Sum"),
            state_machine.metric_failed(label="failed", period=DAY, statistic="Sum"),
            state_machine.metric_timed_out(label="timed out", period=DAY, statistic="Sum"),
            state_machine.metric_aborted(label="aborted", period=DAY, statistic="Sum"),
        )

    def output(self, scope: Construct) -> None:
        CfnOutput(
            scope,
            "DashboardUrl",
            value=dashboard_url(self.dashboard),
            description="The CloudWatch dashboard: " + "; ".join(self.widget_titles),
        )


def _graph(
    title: str, *metrics_shown: cloudwatch.IMetric, line: tuple[int, str] | None = None
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(metrics_shown),
        left_annotations=[cloudwatch.HorizontalAnnotation(value=line[0], label=line[1])]
        if line
        else None,
        left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
        width=_WIDTH,
        height=_HEIGHT,
    )
