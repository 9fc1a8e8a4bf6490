"""`python -m tools.run_now` (`make run-now ARGS=...`)."""

import sys

from tools.run_now.cli import main

sys.exit(main())
