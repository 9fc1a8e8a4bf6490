"""The poll handler's first invocation against a local endpoint, and a bare boto3 program making
the same one DescribeImages call, timed as `make bench` times everything (rehearsal/bench)."""

from __future__ import annotations

import json
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rehearsal.bench import Function, Timing, imported_files, process_timing, round_robin

NEW_IMAGE = "BenchImage-20270101-030000"
POLL_TASK = {
    "rootImageName": "BenchImage",
    "executionId": "arn:aws:states:us-east-1:111122223333:execution:bench:run",
    "startedAt": "2027-01-01T03:00:00+00:00",
    "action": "update",
    "newImageName": NEW_IMAGE,
    "polls": 0,
}
POLL_PROGRAM = """
import json, sys
from types import SimpleNamespace
from image_updater.handlers.poll import handler
context = SimpleNamespace(
    function_name="poll", memory_limit_in_mb=256, aws_request_id="bench",
    invoked_function_arn="arn:aws:lambda:us-east-1:111122223333:function:poll",
)
handler(json.loads(sys.argv[1]), context)
"""
BARE_PROGRAM = "import sys, boto3; boto3.client('appstream').describe_images(Names=[sys.argv[1]])"


class FakeAws(ThreadingHTTPServer):
    """AWS's JSON protocol on localhost: DescribeImages finds an image still being built; any
    other call (e.g. DynamoDB's) is answered with an empty object. Counts the calls."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.calls: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Answer(BaseHTTPRequestHandler):
    server: FakeAws

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        operation = self.headers.get("X-Amz-Target", "?").rsplit(".", 1)[-1]
        self.server.calls[operation] += 1
        answer: dict[str, Any] = {}
        if operation == "DescribeImages":
            created = datetime(2027, 1, 1, 3, 0, tzinfo=UTC).timestamp()
            answer = {
                "Images": [
                    {
                        "Name": NEW_IMAGE,
                        "Arn": f"arn:aws:appstream:us-east-1:111122223333:image/{NEW_IMAGE}",
                        "State": "PENDING",
                        "Platform": "WINDOWS_SERVER_2022",
                        "CreatedTime": created,
                    }
                ]
            }
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_aws() -> Iterator[FakeAws]:
    server = FakeAws()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def poll_invocation(poll: Function, samples: int) -> dict[str, Timing]:
    """Median timing of the poll handler's import plus first invocation, and of the bare
    boto3 program making the same call; each sample's calls are checked."""
    imported_files(poll)
    with fake_aws() as server, tempfile.TemporaryDirectory() as empty:
        endpoint = {"AWS_ENDPOINT_URL": server.url}

        def once(
            code: Path, program: str, environment: dict[str, str], arg: str, depth: int
        ) -> Timing:
            server.calls.clear()
            timing = process_timing(code, program, arg, environment=environment, depth=depth)
            if server.calls != Counter({"DescribeImages": 1}):
                raise RuntimeError(f"expected one DescribeImages call, got {dict(server.calls)}")
            return timing

        return round_robin(
            {
                "bare boto3 DescribeImages": lambda depth: once(
                    Path(empty), BARE_PROGRAM, endpoint, NEW_IMAGE, depth
                ),
                "poll import + first invocation": lambda depth: once(
                    poll.asset,
                    POLL_PROGRAM,
                    {**poll.environment, **endpoint},
                    json.dumps(POLL_TASK),
                    depth,
                ),
            },
            samples,
        )
