"""``python -m inboxd.cli``."""

import sys

from inboxd.cli.main import main

sys.exit(main())
