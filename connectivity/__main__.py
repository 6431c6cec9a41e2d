"""``python -m connectivity``."""

import sys

from connectivity.cli import main

sys.exit(main())
