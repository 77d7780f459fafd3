"""Entry point: `python -m tests.lab ...` from the repository root."""

import sys

from tests.lab.cli import main

sys.exit(main())
