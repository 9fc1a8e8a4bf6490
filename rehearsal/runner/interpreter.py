"""moto's Step Functions interpreter, made to run the synthesized definition on simulated
time: Wait states, retries and callbacks advance or wait on the run's clock; and the work moto
repeats on every run that cannot change its outcome is done once."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timezone
from types import SimpleNamespace
from typing import Any
from unittest import mock

from rehearsal.runner.clock import image_of
from rehearsal.runner.execution import ApprovalRequest
from rehearsal.runner.live import Live


class _Endings:
    """Executions that have ended, as moto's interpreter reports them: the runner waits for
    its execution's end instead of polling DescribeExecution (which competes for the CPU)."""

    def __init__(self) -> None:
        self._ended: set[str] = set()
        self._changed = threading.Condition()

    def ended(self, arn: str) -> None:
        with self._changed:
            self._ended.add(arn)
            self._changed.notify_all()

    def wait_for(self, arn: str, timeout_seconds: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: arn in self._ended, timeout_seconds)


ENDED = _Endings()


# ANTLR's parse of each definition: the costly half of moto's parse, and the same every time for
# the same definition (moto parses it on create and again on every execution). Intrinsic
# functions' trees are kept here too, by their text (a definition is JSON, never such a text).
_PARSE_TREES: dict[str, Any] = {}


_PARSED_PATHS: dict[tuple[int, str], Any] = {}

# Definitions moto has accepted at CreateStateMachine. Its check parses and preprocesses the
# whole definition (builds every component) only to throw the result away, and every run's
# deployment creates the same state machine again: the same text passes the same check, so it
# is checked once. A definition that fails is never kept (it fails again, each time).
_VALID_DEFINITIONS: set[str] = set()

# The text of every node of a tree in _PARSE_TREES, by id(node). ANTLR's getText() rebuilds a
# node's text from all its leaves on every call, and moto's Preprocessor calls it on nodes and
# on their ancestors again for every execution (about 15% of a run). A pure cache: a tree is
# never changed once parsed, and its nodes live as long as _PARSE_TREES holds them, so an id
# here is never one of another node. Nodes of any other tree are not in it and are read as ANTLR
# reads them.
_TEXTS: dict[int, str] = {}


def _remember_texts(node: Any) -> str:
    """`node`'s text, recording it and its descendants' in _TEXTS (each built once, from the
    children's, as ANTLR's getText builds it)."""
    from antlr4.tree.Tree import TerminalNode

    if isinstance(node, TerminalNode):
        text: str = node.getText()
    else:
        text = "".join(_remember_texts(child) for child in node.getChildren())
    _TEXTS[id(node)] = text
    return text


def _cached(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def cached(path: str) -> Any:
        key = (id(parse), path)
        if key not in _PARSED_PATHS:
            _PARSED_PATHS[key] = parse(path)
        return _PARSED_PATHS[key]

    return cached


@contextmanager
def interpreter_shortcuts() -> Iterator[None]:
    """Leave out work moto repeats on every run that cannot change its outcome: parsing the
    same definition again, checking again a definition it accepted, and a new SDK client for
    every Lambda invocation and publish. The
    evaluation components are still built afresh for each execution."""
    from antlr4.RuleContext import RuleContext
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser
    from moto.stepfunctions.parser.asl.parse.intrinsic.preprocessor import (
        Preprocessor as IntrinsicPreprocessor,
    )
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path
    from moto.stepfunctions.parser.backend import execution
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_get_text = RuleContext.getText
    original_validate = StepFunctionsParserBackend._validate_definition

    def validate_definition(definition: str) -> None:
        if definition not in _VALID_DEFINITIONS:
            original_validate(definition=definition)
            _VALID_DEFINITIONS.add(definition)

    def kept(original: Any, preprocessor: Any) -> Any:
        """A parser that keeps each text's tree (and the texts of its nodes): a definition, and
        each intrinsic function (States.Format, ...), which moto parses again whenever it
        preprocesses the definition. What is built from a tree is built fresh each time."""

        def parse(text: str) -> tuple[Any, Any]:
            if text not in _PARSE_TREES:
                built, tree = original(text)
                _remember_texts(tree)
                _PARSE_TREES[text] = tree
                return built, tree
            tree = _PARSE_TREES[text]
            return preprocessor().visit(tree), tree

        return parse

    parse = kept(AmazonStateLanguageParser.parse, Preprocessor)
    intrinsic_parse = kept(IntrinsicParser.parse, IntrinsicPreprocessor)

    def get_text(self: Any) -> str:
        text = _TEXTS.get(id(self))
        return original_get_text(self) if text is None else text

    clients: dict[tuple[str, str], Any] = {}
    clients_lock = threading.Lock()
    original_client_for = boto_client.boto_client_for

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        with clients_lock:
            key = (region, service)
            if key not in clients:
                clients[key] = original_client_for(region, service, state_credentials)
            return clients[key]

    users = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.parser.")
        and getattr(module, "boto_client_for", None) is original_client_for
    ]
    original_terminated = execution.BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original_terminated(self)
        ENDED.ended(self.execution.exec_arn)

    with contextlib.ExitStack() as patches:
        patches.enter_context(
            mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse))
        )
        patches.enter_context(
            mock.patch.object(IntrinsicParser, "parse", staticmethod(intrinsic_parse))
        )
        patches.enter_context(mock.patch.object(RuleContext, "getText", get_text))
        patches.enter_context(
            mock.patch.object(
                StepFunctionsParserBackend,
                "_validate_definition",
                staticmethod(validate_definition),
            )
        )
        # jsonpath_ng builds a new PLY parser for every path it parses (tens per run); a parsed
        # path is only read afterwards, so each distinct path is parsed once.
        for module in (json_path, result_path):
            patches.enter_context(mock.patch.object(module, "parse", _cached(module.parse)))
        for module in users:
            patches.enter_context(mock.patch.object(module, "boto_client_for", client_for))
        patches.enter_context(
            mock.patch.object(execution.BaseExecutionWorkerCommunication, "terminated", terminated)
        )
        yield


@contextmanager
def executions_start_at(live: Live) -> Iterator[None]:
    """`$$.Execution.StartTime` (which new image names derive from) is the simulated fire
    time of the run, as on AWS it is the schedule's, not the machine's clock."""
    from moto.stepfunctions.parser import models

    class _FireTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return live.clock.start

    shim = SimpleNamespace(datetime=_FireTime, timezone=timezone)
    with mock.patch.object(models, "datetime", shim):
        yield


@contextmanager
def simulated_waits(live: Live) -> Iterator[None]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    def wait_interval(_self: Any, env: Any, wait_seconds: int) -> None:
        recorder, clock = live.run, live.clock
        clock.use_lane(image_of(env.states.get_input()))
        with recorder.lock:
            recorder.waits.append(wait_seconds)
        clock.advance(wait_seconds)

    class _RetrySleep:
        @staticmethod
        def sleep(seconds: float) -> None:
            recorder = live.run
            with recorder.lock:
                recorder.retry_waits.append(seconds)
            live.clock.advance(seconds)

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker,
    )

    original_job = iteration_worker.IterationWorker._eval_job

    def job_in_its_slot(self: Any, env: Any, job: Any) -> None:
        # Each Map worker is one concurrency slot and runs its images one after the other.
        item = job.job_input
        if isinstance(item, dict) and "outcome" in item and isinstance(item.get("image"), str):
            # An image's roll-out (its update's result) starts once the run's steps are done.
            live.clock.join_lanes()
            live.clock.start_lane(item["image"], after=None)
            original_job(self, env, job)
            return
        image = item if isinstance(item, str) else image_of(item)
        if image is not None:
            last_in_slot = live.run.last_in_slot
            live.clock.start_lane(image, after=last_in_slot.get(id(self)))
            last_in_slot[id(self)] = image
        original_job(self, env, job)

    original_retry = retrier_decl.RetrierDecl._eval_body

    def retry_in_the_images_lane(self: Any, env: Any) -> None:
        # A retry waits on the timeline of the image whose step failed (as a Wait does),
        # not on whichever lane the interpreter's thread last worked in.
        live.clock.use_lane(image_of(env.states.get_input()))
        original_retry(self, env)

    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import (
        Timestamp,
    )

    def timestamp_wait_seconds(self: Any, env: Any) -> int:
        # "Wait until" counts from the simulated now, not the machine's.
        live.clock.use_lane(image_of(env.states.get_input()))
        self.string.eval(env=env)
        text = env.stack.pop()
        moment = self._from_timestamp_string(timestamp=text)
        if moment is None:
            from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
                FailureEventException,
            )

            raise FailureEventException(self._create_failure_event(env, text))
        now = live.clock.now().astimezone(UTC).replace(tzinfo=None)
        return max(0, int((moment - now).total_seconds()))

    with (
        mock.patch.object(Timestamp, "_get_wait_seconds", timestamp_wait_seconds),
        _callbacks_answered_by_the_run(live),
        mock.patch.object(WaitFunction, "_wait_interval", wait_interval),
        mock.patch.object(retrier_decl, "time", _RetrySleep),
        mock.patch.object(retrier_decl.RetrierDecl, "_eval_body", retry_in_the_images_lane),
        mock.patch.object(iteration_worker.IterationWorker, "_eval_job", job_in_its_slot),
    ):
        yield


@contextmanager
def _callbacks_answered_by_the_run(live: Live) -> Iterator[None]:
    """A task waiting for its token is handed to the run (`DeployedAccount.run`), which lets
    its listener answer through the API, or lets it time out on the simulated clock."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeTimedOut

    def wait_for_token(
        self: Any, env: Any, timeout_seconds: int, callback_endpoint: Any, heartbeat_endpoint: Any
    ) -> Any:
        image = image_of(env.states.get_input())
        live.clock.use_lane(image)
        execution = env.states.context_object.context_object_data["Execution"]["Id"]
        request = ApprovalRequest(
            token=callback_endpoint.callback_id,
            image=image,
            execution_arn=execution,
            timeout_seconds=timeout_seconds,
            endpoint=callback_endpoint,
            clock=live.clock,
        )
        recorder = live.run
        with recorder.lock:
            recorder.waiting.append(request)
            recorder.approvals.append(request)
        while True:
            outcome = callback_endpoint.wait(timeout=0.02)
            if outcome is not None:
                live.clock.use_lane(image)
                return outcome
            if request.expired.is_set():
                live.clock.use_lane(image)
                return CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)

    with mock.patch.object(
        callback.StateTaskServiceCallback, "_eval_wait_for_task_token", wait_for_token
    ):
        yield
