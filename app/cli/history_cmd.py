"""``finr1 history list [--json] [--search TEXT] | rename ID TITLE | delete ID``."""

from __future__ import annotations

import argparse
import json
import time

from app.cli.arg_types import at_least
from app.core.history.store import HistoryStore


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``history`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "history", help="list, rename and delete saved conversations",
        description="The conversations the app saved (in its data folder; FINR1_HOME moves it), "
                    "with the scenario, time and SHA-256 of the model that answered. Export one "
                    "with finr1 export ID.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list conversations, newest first")
    listing.add_argument("--json", action="store_true",
                         help="print a JSON array (id, title, scenario, created_at, updated_at, "
                              "turns, model_sha256, model_file)")
    listing.add_argument("--search", default="", metavar="TEXT",
                         help="only conversations whose title, questions or replies contain TEXT")
    listing.add_argument("--limit", type=at_least(1), metavar="N", help="at most N conversations")
    listing.set_defaults(handler=_list)

    renaming = actions.add_parser("rename", help="give a conversation a new title")
    renaming.add_argument("conversation_id", type=int, metavar="ID")
    renaming.add_argument("title", metavar="TITLE")
    renaming.set_defaults(handler=_rename)

    deleting = actions.add_parser("delete", help="delete a conversation")
    deleting.add_argument("conversation_id", type=int, metavar="ID")
    deleting.set_defaults(handler=_delete)


def _list(args: argparse.Namespace) -> int:
    with HistoryStore.open_default() as store:
        summaries = store.conversations(args.search, args.limit)
        if args.json:
            print(json.dumps([summary.to_json() for summary in summaries], indent=2,
                             ensure_ascii=False))
            return 0
        if not summaries:
            print("no conversations match" if args.search else
                  f"no conversations yet (the history is {store.path})")
            return 0
    print(f"{'ID':>5}  {'UPDATED':<16}  {'SCENARIO':<14}  {'MODEL SHA-256':<12}  TITLE")
    for summary in summaries:
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.updated_at))
        sha = (summary.model_sha256 or "-")[:12]
        print(f"{summary.id:>5}  {updated:<16}  {summary.scenario_id or 'chat':<14}  "
              f"{sha:<12}  {summary.title}")
    return 0


def _rename(args: argparse.Namespace) -> int:
    with HistoryStore.open_default() as store:
        store.rename(args.conversation_id, args.title)
    return 0


def _delete(args: argparse.Namespace) -> int:
    with HistoryStore.open_default() as store:
        store.delete(args.conversation_id)
    return 0
