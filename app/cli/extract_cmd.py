"""``finr1 extract FILE [--pages 1-5] [--sheet NAME] [--json]``: print the text the app would send
for an attached document.

The document is read exactly as the app reads an attachment (``extract_document``: a child
process under time and memory limits). Text output is the text as sent: the chosen parts in
document order, a blank line between them, a sheet headed by its name. Notes (pages without a
text layer, a stop at the text limit) go to standard error as ``finr1: note: …``. ``--json``
prints ``{"file_name", "kind", "part_count", "complete", "notes", "parts": [{"kind", "number",
"label", "text"}], "text"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.core.documents.extraction import DOCUMENT_KINDS, extract_document
from app.core.documents.parts import parse_page_ranges


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``extract`` subcommand."""
    parser = subparsers.add_parser(
        "extract",
        help="print the text the app would send for a document (PDF, DOCX, XLSX, CSV, text, "
             "HTML)",
        description="Read a document as the app reads an attachment and print its text. "
                    f"Types: {', '.join(sorted(DOCUMENT_KINDS))}.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the document")
    parser.add_argument("--pages", type=_page_ranges, metavar="RANGES",
                        help="PDF pages to read, e.g. 1-5 or 1,3,7-9 (default: all)")
    parser.add_argument("--sheet", action="append", metavar="NAME", dest="sheets",
                        help="an Excel sheet to read; repeat for more (default: all)")
    parser.add_argument("--json", action="store_true",
                        help="print the parts and the text as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Extract and print; ``DocumentError``s reach ``app.cli.main``, which prints them."""
    document = extract_document(args.file, pages=args.pages, sheets=args.sheets)
    if args.json:
        print(json.dumps({**document.to_dict(), "text": document.text()}, ensure_ascii=False))
    else:
        for note in document.notes:
            print(f"finr1: note: {note}", file=sys.stderr)
        text = document.text()
        print(text, end="\n" if text else "")
    return 0


def _page_ranges(text: str) -> tuple[int, ...]:
    try:
        return parse_page_ranges(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
