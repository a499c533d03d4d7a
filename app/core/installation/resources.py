"""The one way to locate the data files under ``resources/`` (scenarios, web assets, icons…).

In a source checkout ``resources/`` sits beside the ``app`` package at the repository root. A
packaged app can put them elsewhere and say so in the ``FINR1_RESOURCES`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

RESOURCES_ENV_VAR = "FINR1_RESOURCES"

_CHECKOUT_RESOURCES = Path(__file__).resolve().parents[3] / "resources"


def resources_root() -> Path:
    """The resources directory: ``$FINR1_RESOURCES`` when set and non-empty, else the checkout's.

    The path is returned whether or not it exists; readers report a missing file themselves.
    """
    override = os.environ.get(RESOURCES_ENV_VAR, "").strip()
    return Path(override).expanduser() if override else _CHECKOUT_RESOURCES


def resource_path(*parts: str) -> Path:
    """The path of ``parts`` under the resources directory, e.g. ``resource_path("scenarios")``."""
    return resources_root().joinpath(*parts)
