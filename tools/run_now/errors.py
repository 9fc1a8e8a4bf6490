"""The exit codes every run-now command ends with, and the one error that carries one."""

from __future__ import annotations

OK = 0
RUN_FAILED = 1  # run: the run failed; the reason is printed
NOTHING_TO_DO = 1  # approve, reject, rollback: no roll-out waiting, no recorded image
ATTENTION = 1  # status: something needs a person; each reason is listed
USAGE = 2
ENVIRONMENT = 3  # credentials, the Region or the stack are missing; AWS refused or unreachable
STOPPED_FOLLOWING = 4  # run: started, but not followed to its end; it goes on in AWS
TAMPERED = 4  # rollback: the fleet's tags disagree with the updater's record
INTERRUPTED = 130  # the shell's code for a SIGINT


class ToolError(Exception):
    """What a command refuses or fails with: printed as `error: <message>`, then the
    process exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
