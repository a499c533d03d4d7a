"""The options that point a command at a model on an OpenAI-compatible server (``--server``,
``--api-key``, ``--server-model``), shared by ``finr1 chat`` and ``finr1 batch``."""

from __future__ import annotations

import argparse
import os


def add_server_options(parser: argparse.ArgumentParser, title: str, server_help: str) -> None:
    """Add the group ``title`` with ``--server URL`` (explained by ``server_help``), ``--api-key``
    (default ``$FINR1_API_KEY``, the variable ``finr1 serve`` reads too) and ``--server-model``."""
    remote = parser.add_argument_group(title)
    remote.add_argument("--server", metavar="URL", help=server_help)
    remote.add_argument("--api-key", default=os.environ.get("FINR1_API_KEY", ""), metavar="KEY",
                        help="the server's API key (default: $FINR1_API_KEY)")
    remote.add_argument("--server-model", default="", metavar="NAME",
                        help="the server's model to ask (default: the one it serves)")
