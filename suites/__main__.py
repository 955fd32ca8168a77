"""`python -m suites ...`: see suites/cli.py."""

import sys

from suites.cli import main

sys.exit(main())
