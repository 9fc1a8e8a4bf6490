"""approve / reject: the request goes to the approval function's URL, signed with SigV4 with
the approver's own credentials; what the function answers decides the exit code. The URL is
a loopback HTTP server here (the tests have no other network)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import boto3
import pytest

from image_updater.rollout.outcomes import APPROVED, REJECTED
from tools.run_now.approve import answer, signed_request
from tools.run_now.cli import rollout_main
from tools.run_now.errors import ENVIRONMENT, NOTHING_TO_DO, OK, USAGE, ToolError

EXECUTION = "arn:aws:states:eu-west-1:111122223333:execution:ImageUpdater:run-1"
VERIFIED = "arn:aws:sts::111122223333:assumed-role/ImageApprovers/alice"
KEY_ID = "AKIDEXAMPLEAPPROVER"


class FakeFunctionUrl(BaseHTTPRequestHandler):
    """Answers like the approval function; records what it was sent."""

    status = 200
    reply: ClassVar[dict[str, Any]] = {"by": VERIFIED, "newImageName": "ImgA-20260601-030000"}
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received.append({"headers": dict(self.headers), "body": json.loads(body)})
        payload = json.dumps(self.reply).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def function_url() -> Iterator[type[FakeFunctionUrl]]:
    handler = type("Handler", (FakeFunctionUrl,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def session(**_: Any) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=KEY_ID, aws_secret_access_key="secret", region_name="eu-west-1"
    )


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return rollout_main(argv, out, session_factory=session), out.getvalue()


def test_approve_sends_a_sigv4_signed_request_and_reports_the_identity_aws_verified(
    function_url: Any,
) -> None:
    # When an approver approves with their own credentials
    code, printed = run(
        [
            "approve",
            EXECUTION,
            "--image",
            "ImgA",
            "--reason",
            "canary fine",
            "--url",
            function_url.url,
        ]
    )

    # Then one request was sent, signed (SigV4, service lambda, the caller's own key)
    assert code == OK
    (request,) = function_url.received
    authorization = request["headers"]["Authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
    assert "/eu-west-1/lambda/aws4_request" in authorization
    assert "SignedHeaders=" in authorization and "host" in authorization
    assert "Signature=" in authorization and request["headers"]["X-Amz-Date"]
    # with the decision and nothing about who is asking (AWS establishes that)
    assert request["body"] == {
        "executionArn": EXECUTION,
        "image": "ImgA",
        "decision": APPROVED,
        "reason": "canary fine",
    }
    # and it prints the identity the function recorded
    assert VERIFIED in printed and "identity AWS verified" in printed


def test_reject_sends_the_rejection(function_url: Any) -> None:
    code, printed = run(["reject", EXECUTION, "--image", "ImgA", "--url", function_url.url])

    assert code == OK
    assert function_url.received[0]["body"]["decision"] == REJECTED
    assert "Production fleets stay as they are" in printed


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, ENVIRONMENT),
        (404, NOTHING_TO_DO),
        (409, NOTHING_TO_DO),
        (400, USAGE),
        (502, ENVIRONMENT),
    ],
    ids=["not an approver", "not waiting", "answered already", "bad request", "server error"],
)
def test_the_functions_answer_decides_the_exit_code(
    function_url: Any, status: int, expected: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the function (or AWS in front of it) refuses
    function_url.status = status
    function_url.reply = {"error": "why it refused"}

    # When
    code, _ = run(["approve", EXECUTION, "--image", "ImgA", "--url", function_url.url])

    # Then the exit code says what kind of refusal, and the reason is shown
    assert code == expected
    assert "why it refused" in capsys.readouterr().err


def test_the_image_is_required_before_anything_is_sent(function_url: Any) -> None:
    code, _ = run(["approve", EXECUTION, "--url", function_url.url])

    assert code == USAGE
    assert function_url.received == []


def test_an_unreachable_url_is_an_environment_error() -> None:
    # Given a loopback port nothing listens on
    probe = HTTPServer(("127.0.0.1", 0), FakeFunctionUrl)
    port = probe.server_address[1]
    probe.server_close()

    code, _ = run(["approve", EXECUTION, "--image", "ImgA", "--url", f"http://127.0.0.1:{port}/"])

    assert code == ENVIRONMENT


class FakeCloudFormation:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.asked: list[str] = []

    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:
        self.asked.append(StackName)
        outputs = [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]
        return {"Stacks": [{"StackName": StackName, "Outputs": outputs}]}


class StackSession:
    """A session whose only AWS call is DescribeStacks; its credentials sign the request."""

    def __init__(self, cloudformation: FakeCloudFormation) -> None:
        self._cloudformation = cloudformation
        self._real = session()
        self.region_name = "eu-west-1"

    def client(self, name: str) -> Any:
        assert name == "cloudformation", f"the command asked for {name}"
        return self._cloudformation

    def get_credentials(self) -> Any:
        return self._real.get_credentials()


def test_the_url_comes_from_the_stacks_approval_url_output(function_url: Any) -> None:
    # Given the stack's output names the function URL
    cloudformation = FakeCloudFormation({"ApprovalUrl": function_url.url, "StateMachineArn": "x"})

    # When the approver approves without --url
    code = answer(
        StackSession(cloudformation),  # type: ignore[arg-type]
        EXECUTION,
        APPROVED,
        io.StringIO(),
        image="ImgA",
        stack="MyUpdater",
    )

    # Then the URL came from that stack, and the request reached it
    assert code == OK
    assert cloudformation.asked == ["MyUpdater"]
    assert len(function_url.received) == 1


def test_a_stack_without_approvals_says_so() -> None:
    cloudformation = FakeCloudFormation({"StateMachineArn": "x"})

    with pytest.raises(ToolError, match="requireApproval=false") as error:
        answer(
            StackSession(cloudformation),  # type: ignore[arg-type]
            EXECUTION,
            APPROVED,
            io.StringIO(),
            image="ImgA",
        )
    assert error.value.exit_code == ENVIRONMENT


def test_a_function_urls_region_signs_the_request() -> None:
    url = "https://abc123.lambda-url.ap-southeast-2.on.aws/"

    request = signed_request(session(), url, {"a": 1})

    assert "/ap-southeast-2/lambda/aws4_request" in str(request.headers["Authorization"])
