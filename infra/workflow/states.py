"""The names of the workflow's states, in one place: the definition, the run-now tool, the
rehearsal and the tests read them from here instead of copying strings. Plain constants, no
CDK, so tools import them cheaply. Renaming one changes what the console and logs show."""

from __future__ import annotations

# --- the run ---------------------------------------------------------------------------------
PLAN = "Plan the run"
KEEP_THE_REFUSAL = "Keep the refusal"
RUN_REFUSED = "Run refused"
UPDATE_EACH_IMAGE = "Update each image"
LIST_FAILURES = "List failures"
SUMMARIZE = "Summarize"
DID_EVERY_IMAGE_SUCCEED = "Did every image succeed?"
SOME_IMAGES_FAILED = "Some images failed"
ALL_IMAGES_DONE = "All images done"

# --- one image -------------------------------------------------------------------------------
CHECK = "Check for updates"
UPDATE_AVAILABLE = "Update available?"
DRY_RUN_REPORT_ONLY = "Dry run: report only"
DRY_RUN_ON_ERROR = "Dry run?"
DRY_RUN_KEEP_THE_ERROR = "Dry run: keep the error"
ALREADY_UP_TO_DATE = "Already up to date"
CREATE = "Start the update"
STARTED_OR_DONE_ELSEWHERE = "Started, or done by another run?"
WAIT = "Wait for the build"
POLL = "Check the build"
IMAGE_SETTLED = "Image settled?"
REPORTED_BY_ANOTHER_RUN = "Reported by another run"
RETIRE_OLDER_IMAGES = "Retire older images"
# The steps that call AppStream: each retries transient errors and quotas, and catches the rest.
APPSTREAM_TASKS = (CHECK, CREATE, POLL)

# --- the circuit breaker: between Summarize and the last choice -------------------------------
RECORD_THE_RUN = "Record the run for the breaker"
SCHEDULE_PAUSED = "Schedule paused?"
SEND_THE_PAUSE_EMAIL = "Send the pause e-mail"
PAUSE_EMAIL_NOT_SENT = "Pause e-mail not sent"
SCHEDULE_LEFT_AS_IT_WAS = "Schedule left as it was"
BREAKER_FAILED = "Breaker failed"

# --- the roll-out to fleets: after the breaker, one branch per image the run built ---------
ROLL_OUT_EACH_IMAGE = "Roll out each new image"
NEW_IMAGE_TO_ROLL_OUT = "New image to roll out?"
NOTHING_TO_ROLL_OUT = "Nothing to roll out"
FIND_THE_FLEETS = "Find the fleets"
FLEETS_TO_UPDATE = "Fleets to update?"
NO_FLEET_FOLLOWS = "No fleet follows the lineage"
UPDATE_THE_CANARIES = "Update the canary fleets"
DID_EVERY_CANARY_TAKE_IT = "Did every canary take it?"
WRITE_THE_CANARY_EMAIL = "Write the canary e-mail"
SEND_THE_CANARY_EMAIL = "Send the canary e-mail"
SOAK_THE_CANARIES = "Soak the canaries"
CHECK_THE_CANARIES = "Check the canaries"
CANARIES_HEALTHY = "Canaries healthy?"
WAIT_TO_CHECK_AGAIN = "Wait to check the canaries again"
ROLL_BACK_THE_CANARIES = "Roll the canaries back"
APPROVAL_NEEDED = "Approval needed?"
WRITE_THE_APPROVAL_REQUEST = "Write the approval request"
SEND_THE_APPROVAL_REQUEST = "Send the approval request"
WAIT_FOR_APPROVAL = "Wait for approval"
APPROVED = "Approved?"
ROLLOUT_REJECTED = "Rejected"
APPROVAL_TIMED_OUT = "Approval timed out"
START_THE_APPROVAL_CLOCK = "Start the approval clock"
VERIFY_THE_APPROVAL = "Verify the approval"
WRITE_THE_IGNORED_ANSWER_EMAIL = "Write the ignored-answer e-mail"
SEND_THE_IGNORED_ANSWER_EMAIL = "Send the ignored-answer e-mail"
FIND_THE_WINDOW = "Find the production window"
WAIT_FOR_THE_WINDOW = "Wait for the production window"
UPDATE_THE_PRODUCTION_FLEETS = "Update the production fleets"
ROLLOUT_STOPPED = "Roll-out stopped"
ROLLOUT_LABEL = " (roll-out)"
LIST_ROLLOUT_FAILURES = "List roll-out failures"
SUMMARIZE_THE_ROLLOUTS = "Summarize the roll-outs"
A_ROLLOUT_FAILED = "A roll-out failed"
# The roll-out's steps that call AppStream (and CloudWatch): transient errors retried.
ROLLOUT_APPSTREAM_TASKS = (
    FIND_THE_FLEETS,
    UPDATE_THE_CANARIES,
    CHECK_THE_CANARIES,
    ROLL_BACK_THE_CANARIES,
    UPDATE_THE_PRODUCTION_FLEETS,
)

# --- e-mail (one set per use: the image's, and a refused run's with a label) ----------------
WRITE_THE_EMAIL = "Write the e-mail"
SEND_THE_EMAIL = "Send the e-mail"
EMAIL_NOT_SENT = "E-mail not sent"
FINAL_REPORT_CLAIMED = "Final report claimed?"
MARK_THE_REPORT_SENT = "Mark the report sent"
REPORT_NOT_MARKED_SENT = "Report not marked sent"
SEND_THE_FALLBACK_EMAIL = "Send the fallback e-mail"
REPORT_FAILED = "Report failed"
RESULT = "Result"
REFUSAL_LABEL = " (run refused)"


def for_refusal(name: str) -> str:
    """The name of an e-mail state in the refused-run branch."""
    return name + REFUSAL_LABEL
