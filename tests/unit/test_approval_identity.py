"""Who may answer an approval and what an answer may say: pure checks, no AWS."""

from __future__ import annotations

import pytest

from image_updater.approval.identity import (
    REASON_MAX,
    AnswerRefused,
    caller_of,
    matching_approver,
    parse_answer,
)
from infra.approvers import approval_problems, approval_warnings, approvers_problems
from infra.config import ConfigError, load_config

ROLE = "arn:aws:iam::111122223333:role/ImageApprovers"
ROLE_WITH_PATH = "arn:aws:iam::111122223333:role/euc/admins/ImageApprovers"
USER = "arn:aws:iam::111122223333:user/alice"
EXECUTION = "arn:aws:states:eu-west-1:111122223333:execution:ImageUpdater:run-1"


@pytest.mark.parametrize(
    ("caller", "approvers", "expected"),
    [
        # a session of a named role (the session ARN drops the role's path)
        ("arn:aws:sts::111122223333:assumed-role/ImageApprovers/alice", (ROLE,), ROLE),
        (
            "arn:aws:sts::111122223333:assumed-role/ImageApprovers/bob",
            (ROLE_WITH_PATH,),
            ROLE_WITH_PATH,
        ),
        # the named user itself
        (USER, (ROLE, USER), USER),
        # not: another role, another account, another partition, a role's own ARN as caller
        ("arn:aws:sts::111122223333:assumed-role/PowerUsers/alice", (ROLE,), None),
        ("arn:aws:sts::444455556666:assumed-role/ImageApprovers/alice", (ROLE,), None),
        ("arn:aws-cn:sts::111122223333:assumed-role/ImageApprovers/alice", (ROLE,), None),
        ("arn:aws:sts::111122223333:assumed-role/ImageApproversX/alice", (ROLE,), None),
        ("arn:aws:iam::111122223333:user/alice2", (USER,), None),
        # a user named like the role is not a session of it
        ("arn:aws:iam::111122223333:user/ImageApprovers", (ROLE,), None),
        # nobody, when nobody is named
        (USER, (), None),
    ],
)
def test_an_approver_matches_itself_or_a_session_of_its_role(
    caller: str, approvers: tuple[str, ...], expected: str | None
) -> None:
    assert matching_approver(caller, approvers) == expected


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"requestContext": {}},
        {"requestContext": {"authorizer": {"iam": {"userArn": ""}}}},
        None,
    ],
)
def test_a_request_without_an_iam_identity_is_refused(event: object) -> None:
    with pytest.raises(AnswerRefused) as refused:
        caller_of(event)
    assert refused.value.status == 403


def parse(**body: object) -> object:
    return parse_answer(body, partition="aws", region="eu-west-1", account="111122223333")


def test_a_well_formed_answer_is_taken() -> None:
    answer = parse(executionArn=EXECUTION, image="ImgA", decision="APPROVED", reason="ok")
    assert answer == parse_answer(
        {"executionArn": EXECUTION, "image": "ImgA", "decision": "APPROVED", "reason": "ok"},
        partition="aws",
        region="eu-west-1",
        account="111122223333",
    )


@pytest.mark.parametrize(
    "body",
    [
        {
            "executionArn": EXECUTION.replace("eu-west-1", "us-east-1"),
            "image": "ImgA",
            "decision": "APPROVED",
        },
        {
            "executionArn": EXECUTION.replace("111122223333", "444455556666"),
            "image": "ImgA",
            "decision": "APPROVED",
        },
        {"executionArn": "run-1", "image": "ImgA", "decision": "APPROVED"},
        {"executionArn": EXECUTION, "image": "Img A", "decision": "APPROVED"},
        {"executionArn": EXECUTION, "image": "ImgA", "decision": "approved please"},
        {
            "executionArn": EXECUTION,
            "image": "ImgA",
            "decision": "APPROVED",
            "reason": "x" * (REASON_MAX + 1),
        },
        {"executionArn": EXECUTION, "image": "ImgA", "decision": "APPROVED", "reason": ["x"]},
    ],
    ids=[
        "other Region",
        "other account",
        "not an ARN",
        "bad image",
        "bad decision",
        "reason too long",
        "reason not text",
    ],
)
def test_a_malformed_answer_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(AnswerRefused) as refused:
        parse_answer(body, partition="aws", region="eu-west-1", account="111122223333")
    assert refused.value.status == 400


def test_a_reason_at_the_cap_is_taken() -> None:
    answer = parse(
        executionArn=EXECUTION, image="ImgA", decision="REJECTED", reason="x" * REASON_MAX
    )
    assert answer.reason == "x" * REASON_MAX  # type: ignore[attr-defined]


# --- the approvers key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approvers", "fragment"),
    [
        (("arn:aws:iam::111122223333:group/Admins",), "not an IAM role or user ARN"),
        (("arn:aws:sts::111122223333:assumed-role/A/s",), "not an IAM role or user ARN"),
        ((ROLE, ROLE), "listed twice"),
        (tuple(f"{ROLE}{i}" for i in range(11)), "at most 10"),
        ((ROLE, "arn:aws-cn:iam::111122223333:role/B"), "several partitions"),
        ((f"arn:aws:iam::111122223333:role/{'p/' * 1000}R",), "at most 2000"),
    ],
)
def test_bad_approvers_are_refused_with_the_rule(approvers: tuple[str, ...], fragment: str) -> None:
    assert any(fragment in problem for problem in approvers_problems(approvers))


def test_valid_approvers_pass() -> None:
    assert list(approvers_problems((ROLE, ROLE_WITH_PATH, USER))) == []


def test_logging_execution_data_with_approvals_is_refused_naming_both_keys() -> None:
    # When both are on, the task token would be in the workflow's logs
    with pytest.raises(ConfigError) as error:
        load_config({"logExecutionData": "true", "requireApproval": "true", "approvers": ROLE})

    (problem,) = error.value.problems
    assert problem.startswith("logExecutionData, requireApproval:")
    assert "task's token" in problem or "token" in problem
    # and either alone is fine
    assert load_config({"logExecutionData": "true", "requireApproval": "false"}).log_execution_data
    assert list(approval_problems(load_config({"requireApproval": "true"}))) == []


def test_approvals_with_nobody_to_give_them_draw_a_warning() -> None:
    nobody = load_config({"requireApproval": "true"})
    named = load_config({"requireApproval": "true", "approvers": ROLE})
    unattended = load_config({"requireApproval": "false"})

    (message,) = approval_warnings(nobody).values()
    assert "approvers is empty" in message and "never changed" in message
    assert approval_warnings(named) == {} and approval_warnings(unattended) == {}
