"""Print the example configuration: ``python -m inboxd.examples > inboxd.yaml``."""

import sys

from inboxd.examples import example_config_text

sys.stdout.write(example_config_text())
