"""``finr1 about [--json] [--licenses]``: the version, the llama.cpp build in use, licence notices.

The same content as the desktop app's About box (``app.core.installation.about``): which llama.cpp CPU variant
and GPU back-end this installation runs, and the third-party components with their licences.
``--licenses`` adds each licence's full text.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from app.core.installation.about import AboutInfo, about_info


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``about`` subcommand."""
    parser = subparsers.add_parser(
        "about", help="show the version, the llama.cpp build in use and the licence notices",
        description="Show Fin-R1 Studio's version, which llama.cpp build it runs (CPU variant, "
                    "GPU back-end) and the third-party components with their licences.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--licenses", action="store_true", help="also print every licence text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the About content; returns 0. Raises AboutDataError for a broken installation."""
    info = about_info()
    if args.json:
        print(json.dumps(about_summary(info, with_texts=args.licenses), ensure_ascii=False,
                         indent=2))
        return 0
    print(info.as_text(), end="")
    if args.licenses:
        seen = set()
        for notice in info.notices:
            if notice.license_file not in seen:
                seen.add(notice.license_file)
                print(f"\n==== {notice.license_file.name} ====\n{notice.license_text()}")
    return 0


def about_summary(info: AboutInfo, with_texts: bool = False) -> dict[str, Any]:
    """The About content as JSON-ready data; licence texts only when ``with_texts``."""
    llama = None
    if info.llama is not None:
        llama = {**dataclasses.asdict(info.llama),
                 "runtime_cpu_variants": info.llama.runtime_cpu_variants,
                 "summary": info.llama.summary}
    notices = []
    for notice in info.notices:
        entry = {"name": notice.name, "version": notice.version, "license": notice.license,
                 "url": notice.url, "role": notice.role, "license_file": str(notice.license_file)}
        if with_texts:
            entry["license_text"] = notice.license_text()
        notices.append(entry)
    return {
        "app": info.app_name, "version": info.version, "license": info.license,
        "frozen": info.frozen, "python": info.python_version, "platform": info.platform,
        "llama": llama, "llama_error": info.llama_error, "notices": notices,
        "third_party_file": str(info.third_party_file) if info.third_party_file else None,
    }
