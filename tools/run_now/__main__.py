"""`python -m tools.run_now` (`make run-now ARGS=...`)."""

import sys

from tools.run_now.cli import main

if __name__ == "__main__":  # importing the module (as the bench's probe does) runs nothing
    sys.exit(main())
