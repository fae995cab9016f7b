"""The commented example configuration, shipped with the package.

``python -m inboxd.examples > inboxd.yaml`` writes it out; in a source checkout the same file is
``config/inboxd.yaml``.
"""

from __future__ import annotations

from importlib.resources import files


def example_config_text() -> str:
    """The complete, commented example ``inboxd.yaml``."""
    return files("inboxd.examples").joinpath("inboxd.yaml").read_text(encoding="utf-8")
