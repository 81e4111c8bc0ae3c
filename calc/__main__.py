"""``python -m calc``: the command line (see calc/cli.py)."""

import sys

from calc.cli import main

sys.exit(main())
