"""What one image's roll-out came to (the workflow's choices, the e-mails and the hub's
distribution read them), and an approver's decisions: plain names, so that a function that
only needs to tell outcomes apart does not load the roll-out's records (models.py)."""

from __future__ import annotations

# Outcomes of one image's roll-out (the workflow's choices read them).
NO_FLEETS = "NO_FLEETS"  # no fleet follows the lineage: nothing is said
NOTHING_TO_ROLL_OUT = "NOTHING_TO_ROLL_OUT"  # fleets follow it, none can take the image
CANARY_FIRST = "CANARY_FIRST"
PRODUCTION_NEXT = "PRODUCTION_NEXT"
CANARIES_UPDATED = "CANARIES_UPDATED"
CANARY_ROLLED_BACK = "CANARY_ROLLED_BACK"
APPROVAL_REQUESTED = "APPROVAL_REQUESTED"
REJECTED = "REJECTED"
APPROVAL_TIMED_OUT = "APPROVAL_TIMED_OUT"
PRODUCTION_UPDATED = "PRODUCTION_UPDATED"
SUPERSEDED = "SUPERSEDED"  # a newer image of the lineage exists: this one goes no further
# A canary cannot test the image now, or none is tagged and nobody may let production go
# untested: production waits, nothing is changed (an e-mail says which fleet and why).
HELD_BACK = "HELD_BACK"
ROLLOUT_FAILED = "ROLLOUT_FAILED"
ROLLOUT_FAILURES = frozenset({CANARY_ROLLED_BACK, ROLLOUT_FAILED})

# An approver's decision, as the approval function records it in the ledger.
APPROVED = "APPROVED"
