"""`python -m sentinel_emulator [--port N] [--seed N] [--faults SPEC] [--latency-ms N] [--live]`."""

import sys

from .cli import main

raise SystemExit(main(sys.argv[1:]))
