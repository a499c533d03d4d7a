"""Placeholder: the module that owns this subcommand replaces this file."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds nothing yet."""
