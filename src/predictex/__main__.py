"""`python -m predictex ...` runs the `predictex` command."""

import sys

from predictex.cli.main import main

sys.exit(main())
