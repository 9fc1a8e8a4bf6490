"""The year's report: what `make rehearse ARGS=year` prints, month by month, then in numbers
and in dollars."""

from __future__ import annotations

import contextlib
import io
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from rehearsal import costs
from rehearsal.year.record import Week, Year
from rehearsal.year.setting import (
    CONTEXT,
    FAILING_MONTH,
    FLEET_MOVES,
    IMAGE_BUILDER,
    OTHER_FLEET,
    OTHER_IMAGES,
    PRODUCTION_FLEET,
    ROOT,
    WEEKS,
)


def _iter_months(weeks: list[Week]) -> Iterator[tuple[str, list[Week]]]:
    months: dict[str, list[Week]] = {}
    for week in weeks:
        months.setdefault(f"{week.fired:%Y-%m}", []).append(week)
    yield from months.items()


# --- the report -------------------------------------------------------------------------------
def _short_reasons(kept: dict[str, str]) -> str:
    if not kept:
        return "-"
    reasons = Counter(kept.values())
    return "; ".join(f"{n} {reason}" for reason, n in reasons.most_common())


def print_year(year: Year, seconds: float | None = None) -> None:
    print("AppStream image updater: offline rehearsal, scenario 'year'")
    about = (
        f"{WEEKS} weekly scheduled runs ({CONTEXT['scheduleExpression']}, UTC) of the "
        f"synthesized workflow for {ROOT}, defaults otherwise (keepImages 2, "
        "maxConsecutiveFailedRuns 3).",
        f"The account: AppStream's default quotas ({year.image_quota} images, 10 image "
        f"builders, 5 concurrent updates); {', '.join(OTHER_IMAGES)} (not the updater's); "
        f"image builder {IMAGE_BUILDER}; fleets {PRODUCTION_FLEET} (on {ROOT}) and {OTHER_FLEET}.",
        f"Patches every second Tuesday; the admin moves {PRODUCTION_FLEET} to the newest image "
        f"in months {', '.join(map(str, FLEET_MOVES))}; month {FAILING_MONTH}'s update fails "
        "until the breaker pauses the schedule.",
    )
    for paragraph in about:
        print(textwrap.fill(paragraph, width=96, initial_indent="  ", subsequent_indent="    "))
    print()
    header = (
        f"{'Month':<8} {'Runs':>4} {'New':>4} {'Failed':>6} {'Deleted':>7} "
        f"{'E-mails':>7} {'Events':>6} {'Images':>7}  Kept beyond keepImages (why)"
    )
    print(header)
    print("-" * len(header))
    for month, weeks in _iter_months(year.weeks):
        runs = [w for w in weeks if w.execution is not None]
        available = sum(1 for w in weeks for o in w.outcomes.values() if o == "AVAILABLE")
        failed = sum(1 for w in weeks for o in w.outcomes.values() if o == "FAILED")
        paused = len(weeks) - len(runs)
        kept = next((w.kept for w in reversed(runs) if w.kept), {})
        print(
            f"{month:<8} {len(runs):>4} {available:>4} {failed:>6} "
            f"{sum(len(w.deleted) for w in weeks):>7} {sum(len(w.emails) for w in weeks):>7} "
            f"{sum(len(w.events) for w in weeks):>6} "
            f"{max((w.peak_images for w in weeks), default=0):>4}/{year.image_quota:<2}  "
            f"{_short_reasons(kept)}" + (f"  ({paused} paused)" if paused else "")
        )
    print("\nWhat happened (besides the weekly runs that found nothing to do):")
    entries: list[tuple[datetime, str]] = []
    for week in year.weeks:
        entries += week.happenings
        if week.started_by == "hand":
            entries.append((week.fired, f"run started by hand: {week.status}"))
        entries += [(week.fired, f"e-mail: {subject}") for subject in week.emails]
        if week.status == "PAUSED":
            entries.append((week.fired, "no run: the schedule is paused"))
    for when, text in sorted(entries, key=lambda entry: entry[0]):
        print(f"  {when:%a %b %d}  {text}")
    _print_totals(year, seconds)


def _print_totals(year: Year, seconds: float | None) -> None:
    usage = year.usage()
    print("\nThe year in numbers")
    scheduled = year.scheduled_runs
    print(
        f"  Runs: {len(scheduled)} scheduled ({sum(w.failed for w in scheduled)} FAILED, "
        f"{len(year.weeks) - len(year.runs)} skipped while paused), "
        f"{len(year.runs) - len(scheduled)} started by hand"
    )
    calls = year.appstream_calls
    _print_wrapped(f"AppStream calls: {sum(calls.values()):,} ({_counts(calls)})")
    print(f"  Lambda invocations: {year.lambda_invocations:,}")
    print(f"  State transitions: {year.state_transitions:,}")
    _print_wrapped(f"Other AWS requests by the functions: {_counts(year.service_calls)}")
    print(f"  E-mails: {usage.emails}; EventBridge events: {usage.events}")
    refused = sum(week.quota_refusals for week in year.weeks)
    protected = [name for week in year.weeks for name in week.protected_deleted]
    print(
        f"  Creates refused for a quota: {refused}; peak images: "
        f"{max(week.peak_images for week in year.weeks)} of {year.image_quota}; "
        f"protected images deleted: {', '.join(protected) or 'none'}"
    )
    created = sum(len(w.created) for w in year.weeks)
    print(f"  Updates started: {created}; image-builder hours: {year.build_hours:g}")
    print(
        f"  Breaker: paused {year.paused_at:%Y-%m-%d}, resumed {year.resumed_at:%Y-%m-%d}"
        if year.paused_at and year.resumed_at
        else "  Breaker: never paused"
    )
    print(
        f"  End of the year: schedule {year.schedule_state}, breaker count {year.breaker_count}, "
        f"last run {year.runs[-1].status if year.runs else '-'}"
    )
    print("\nWhat the pipeline cost (us-east-1 list prices, no free tier; rehearsal/costs.py)")
    lines = costs.cost_lines(usage)
    for line in lines:
        print(f"  {line.item:<18} {_dollars(line.dollars):>8}  {line.arithmetic}")
    print(f"  {'Total':<18} {_dollars(sum(line.dollars for line in lines)):>8}")
    _print_wrapped(
        f"Not included: the updates' {year.build_hours:g} image-builder hours, billed at the "
        "instance type's hourly rate, as for any image builder."
    )
    if seconds is not None:
        print(f"\n({seconds:.0f} s here)")


def _print_wrapped(text: str) -> None:
    print(textwrap.fill(text, width=96, initial_indent="  ", subsequent_indent="    "))


def _dollars(amount: float) -> str:
    return "< $0.01" if 0 < amount < 0.005 else f"${amount:,.2f}"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counter.most_common())


def report(year: Year) -> str:
    """What `make rehearse ARGS=year` prints (without its timing), for the README."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_year(year)
    return out.getvalue().rstrip()
