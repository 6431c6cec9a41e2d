"""``python -m server``: run the hello server."""

import sys

from server.cli import main

sys.exit(main())
