"""``finr1 download [REPO] [--quant TYPE | --file NAME] [--endpoint URL] [--token T] …``.

With no arguments: Fin-R1's default GGUF repository, the quant type recommended for this
machine. Ctrl-C pauses: the partial file is kept and the same command resumes it.
"""

from __future__ import annotations

import argparse
import sys

from app.cli.library_option import add_library_option, hub_config, open_library
from app.cli.progress_bar import ProgressBar
from app.core.hardware.fit import DEFAULT_CONTEXT
from app.core.hub.catalog import load_catalog
from app.core.hub.download import DownloadPlan, plan_download, run_download
from app.core.installation.paths import app_paths
from foundation.disk_space import human_bytes
from foundation.jobs import JobCancelled
from quant.formats import QUANT_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``download`` subcommand."""
    parser = subparsers.add_parser(
        "download", help="download Fin-R1 (a GGUF, or the original checkpoint) into the library",
        description="Download a model from the hub into the library: resumes an interrupted "
                    "download, checks free disk space first and the file's SHA-256 after. "
                    "Without REPO: Fin-R1's default GGUF repository and the quant type "
                    "recommended for this machine.",
    )
    parser.add_argument("repo", nargs="?", metavar="REPO",
                        help="hub repository, e.g. mradermacher/Fin-R1-GGUF or "
                             "SUFE-AIFLM-Lab/Fin-R1 (the original checkpoint, a folder)")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--quant", choices=[quant.name for quant in QUANT_TYPES],
                        metavar="TYPE", help="quant type to fetch (q4_k_m, q8_0…)")
    choice.add_argument("--file", metavar="NAME", help="exact file name in the repository")
    parser.add_argument("--revision", default="main", help="branch, tag or commit (default main)")
    parser.add_argument("--endpoint", metavar="URL",
                        help="hub or mirror address (default: HF_ENDPOINT, else huggingface.co)")
    parser.add_argument("--token", metavar="T", help="access token for gated repositories")
    add_library_option(parser)
    parser.add_argument("--context", type=int, default=DEFAULT_CONTEXT, metavar="TOKENS",
                        help="context size the recommended quant must fit")
    parser.add_argument("--build", metavar="TYPE", dest="build_quant",
                        choices=[quant.name for quant in QUANT_TYPES],
                        help="for a checkpoint: also keep disk space to build this quant")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would be downloaded and stop; in offline mode, or when the "
                             "hub cannot be reached, from what the app already knows")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Plan, check, download, verify; print the library id and path."""
    paths = app_paths()
    config = hub_config(args.endpoint, args.token)
    with open_library(args) as library:
        plan = plan_download(
            library, config, repo_id=args.repo, quant=args.quant, filename=args.file,
            revision=args.revision, build_quant=args.build_quant,
            catalog=load_catalog(paths.catalog_cache_file), n_ctx=args.context,
            cache_file=paths.catalog_cache_file, dry_run=args.dry_run,
        )
        print(plan.describe(), file=sys.stderr)
        if args.dry_run:
            about = "" if plan.from_hub else "about "
            print(f"needs {about}{human_bytes(plan.needed_disk_bytes)} of disk space in "
                  f"{library.downloads_dir}", file=sys.stderr)
            return 0
        try:
            entry = run_download(plan, library, config, on_progress=ProgressBar())
        except (JobCancelled, KeyboardInterrupt):
            _say_paused(plan)
            return 130
    print(f"{entry.id}\t{entry.path}")
    return 0


def _say_paused(plan: DownloadPlan) -> None:
    print(f"\nfinr1: download paused; nothing entered the library. The partial download is "
          f"kept in {plan.staging_dir}: run the same command to resume.", file=sys.stderr)
