"""``finr1 export ID --format md|html|pdf -o FILE [--no-think] [--language en|zh]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.chat.labels import LANGUAGES
from app.core.history.export import EXPORT_FORMATS, export_text, write_export
from app.core.history.store import HistoryStore
from app.core.scenarios.scenario_file import load_scenarios
from foundation.output_path import check_output_file


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export", help="export a saved conversation as Markdown, HTML or PDF",
        description="Write a conversation of the history (see finr1 history list) with its "
                    "questions, reasoning, answers and a provenance block per reply: model file "
                    "and SHA-256, quant type, sampling settings, seed, app version and time.",
    )
    parser.add_argument("conversation_id", type=int, metavar="ID")
    parser.add_argument("--format", dest="export_format", choices=EXPORT_FORMATS, required=True)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    parser.add_argument("--no-think", action="store_true", help="leave the reasoning out")
    parser.add_argument("--language", choices=LANGUAGES, default="en",
                        help="language of the document's labels (default en)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Export and print the written file's path."""
    check_output_file(args.output, "the export", f"conversation.{args.export_format}")
    with HistoryStore.open_default() as store:
        conversation = store.conversation(args.conversation_id)
    scenarios = {scenario.id: scenario for scenario in load_scenarios()}
    include_think = not args.no_think
    if args.export_format == "pdf":
        # Printing needs Qt's web engine, so the one exception to "the CLI never imports the UI".
        from app.ui.history.pdf_export import print_pdf

        html = export_text(conversation, scenarios, "html", include_think=include_think,
                           language=args.language)
        written = print_pdf(html, args.output)
    else:
        written = write_export(export_text(conversation, scenarios, args.export_format,
                                           include_think=include_think, language=args.language),
                               args.output)
    print(written)
    return 0
