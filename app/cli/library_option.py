"""The ``--library`` option, and the library and hub settings the CLI shares with the app.

A flag wins over the saved setting (``app.core.installation.settings``), which wins over the defaults.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.hub.client import HubConfig
from app.core.installation.settings import load_settings
from app.core.library.model_library import Library


def add_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--library", type=Path, metavar="DIR",
                        help="library folder (default: the library-location setting, else the "
                             "app's data folder)")


def open_library(args: argparse.Namespace) -> Library:
    """The library of ``--library``, else of the saved setting, else the default one."""
    return Library.open_default(args.library or load_settings().library_dir or None)


def hub_config(endpoint: str | None = None, token: str | None = None) -> HubConfig:
    """Flags first, then ``HF_ENDPOINT``, then the saved endpoint, token and offline settings."""
    settings = load_settings()
    return HubConfig.resolve(endpoint, token, setting_endpoint=settings.hub_endpoint,
                             setting_token=settings.hub_token, setting_offline=settings.offline)
