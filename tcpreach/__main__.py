"""``python -m tcpreach``."""

import sys

from tcpreach.cli import main

sys.exit(main())
