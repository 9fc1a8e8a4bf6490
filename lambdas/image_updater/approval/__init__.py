"""Approvals nobody can forge: the approval function (behind an IAM-authenticated Lambda
function URL) records who AWS says answered, and the workflow trusts only that record."""
