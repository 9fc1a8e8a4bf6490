"""Failure injection: calls, or single sends, that fail with a code a test chooses."""

from __future__ import annotations

import copy
from typing import Any, TypedDict, Unpack

from rehearsal.appstream.state import (
    AccountState,
    InjectedFailure,
    ParamsPredicate,
    PendingCall,
    ServiceError,
)

# An injected "error code" that is no AppStream answer at all: the request never arrived.
NETWORK_FAILURE = "EndpointConnectionError"
# What the record says of a call that took effect but whose answer was lost (lose_responses).
LOST_RESPONSE = "ReadTimeoutError"


class Failing(TypedDict, total=False):
    """How an injected failure fails: its `message` (by default one naming the code), and
    `when`: which calls' params it takes (by default every call's)."""

    message: str | None
    when: ParamsPredicate | None


class Failures(AccountState):
    """Injected failures, taken before an operation acts (after the model's checks)."""

    def fail(
        self, operation: str, code: str, *, calls: int | None = 1, **how: Unpack[Failing]
    ) -> None:
        """The next `calls` calls of `operation` whose params satisfy `when` fail with error
        `code` on every request the SDK sends for them, re-sends included: the code sees the
        error whatever its client's retry policy (`calls=None`: every call until
        `clear_failures`). Failures come after the checks against the model, so they never
        hide a violation of it. `NETWORK_FAILURE` makes a request fail as an unreachable
        endpoint does, with botocore's EndpointConnectionError."""
        self._inject(operation, code, calls, whole_calls=True, **how)

    def fail_sends(
        self, operation: str, code: str, *, sends: int | None = 1, **how: Unpack[Failing]
    ) -> None:
        """The next `sends` requests of `operation` (whichever calls they belong to) fail with
        `code`, as `fail` says: a brief fault, which the SDK's re-sends may absorb."""
        self._inject(operation, code, sends, whole_calls=False, **how)

    def lose_responses(self, operation: str, *, calls: int = 1) -> None:
        """The next `calls` calls of `operation` take effect, then their answer is lost on the
        way back (botocore's ReadTimeoutError): the caller cannot tell whether they happened."""
        if operation not in self._operations:
            raise ValueError(f"the simulation does not implement {operation!r}")
        with self._lock:
            self._lost_responses[operation] = self._lost_responses.get(operation, 0) + calls

    def clear_failures(self, operation: str | None = None) -> None:
        """No further injected failures (of `operation`, or of any). A call already failing
        goes on failing on its re-sends."""
        with self._lock:
            self._failures = [f for f in self._failures if operation not in (None, f.operation)]

    def _inject(
        self,
        operation: str,
        code: str,
        count: int | None,
        *,
        whole_calls: bool,
        message: str | None = None,
        when: ParamsPredicate | None = None,
    ) -> None:
        if operation not in self._operations:
            raise ValueError(f"the simulation does not implement {operation!r}")
        if count is not None and count < 1:
            raise ValueError("the count must be at least 1, or None for until cleared")
        failure = InjectedFailure(
            operation=operation,
            code=code,
            message=message or f"{code} (injected by the simulation)",
            remaining=count,
            when=when,
            whole_calls=whole_calls,
        )
        with self._lock:
            self._failures.append(failure)

    def _raise_injected_failure(self, call: PendingCall, params: dict[str, Any]) -> None:
        if call.failure is not None:  # a re-send of a call a failure took: it fails again
            raise ServiceError(call.failure.code, call.failure.message)
        for failure in self._failures:
            if failure.operation != call.model.name:
                continue
            if failure.when is not None and not failure.when(copy.deepcopy(params)):
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
            if failure.whole_calls:
                call.failure = failure
            raise ServiceError(failure.code, failure.message)
