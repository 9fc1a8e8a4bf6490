"""`make run-now`: start and follow a run of the deployed updater, resume its schedule after
the circuit breaker paused it, answer a roll-out's approval, roll a fleet back, or look at
everything at once (status, read-only).

One module per command (run.py with follow.py, resume.py, approve.py, rollback.py, status.py
with status_report.py and status_json.py, what it shows); cli.py
reads the command line (its docstring is the usage), aws.py finds the stack and says whose
problem an AWS error is, errors.py holds the exit codes. `main` is the command line.
"""

from tools.run_now.cli import main

__all__ = ["main"]
