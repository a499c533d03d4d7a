"""``finr1 parse [--scenario ID] [--json] [FILE]``: split a saved Fin-R1 reply into reasoning,
answer and final box, and with ``--scenario`` show what that scenario's answer reader reads in it.

Reads FILE (UTF-8) or standard input and streams it through ``ReasoningParser`` in small chunks,
as the engine's tokens would arrive, so the command exercises the same path as the chat view.
The reading is the one the chat's badges show (``read_reply``): the verdict, grade, scores or
number, or none.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.cli.text_input import stdin_chunks, utf8_chunks
from app.core.reasoning.parser import ParsedReply, ReasoningParser, ReplyAccumulator
from app.core.reasoning.readers import AnswerReading, read_reply
from app.core.scenarios.scenario_file import get_scenario
from foundation.errors import TextInputError

CHUNK_BYTES = 16  # a few tokens' worth: tags, boxes and characters get split across chunks


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``parse`` subcommand."""
    parser = subparsers.add_parser(
        "parse",
        help="split a Fin-R1 reply into reasoning, answer and final boxed answer",
        description="Read a Fin-R1 reply from FILE or standard input and print its reasoning "
                    "(THINK), answer (ANSWER) and final boxed answer (FINAL).",
    )
    parser.add_argument("file", nargs="?", type=Path, metavar="FILE",
                        help="UTF-8 text file holding the reply (default: standard input)")
    parser.add_argument("--json", action="store_true",
                        help='print {"think", "answer", "boxed", "final", "truncated"} as JSON '
                             '(and "reading" with --scenario)')
    parser.add_argument("--scenario", metavar="ID",
                        help="also read the answer as this scenario does (finr1 scenarios lists "
                             "the ids): its verdict, grade, scores or number, or none")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Parse the reply and print it, with the scenario's reading when ``--scenario`` is given
    (JSON key ``reading``: the reading's ``as_dict()``, null when the reader found nothing).

    Raises ``UnknownScenarioError`` for an unknown id (before any input is read) and
    ``TextInputError`` when the input cannot be read.
    """
    scenario = get_scenario(args.scenario) if args.scenario else None
    reply = parse_stream(_read_input(args.file))
    reading = read_reply(scenario, reply)
    if args.json:
        data = reply.to_dict()
        if scenario is not None:
            data["reading"] = reading.as_dict() if reading is not None else None
        print(json.dumps(data, ensure_ascii=False))
    else:
        text = format_reply(reply)
        if scenario is not None:
            text += "\n" + format_reading(reading)
        print(text, end="")
    return 0


def parse_stream(chunks: Iterator[str]) -> ParsedReply:
    """Feed ``chunks`` to a fresh parser, in order, and return the reply they make."""
    parser = ReasoningParser()
    accumulator = ReplyAccumulator()
    for chunk in chunks:
        accumulator.add(parser.feed(chunk))
    accumulator.add(parser.finish())
    return accumulator.reply()


def format_reply(reply: ParsedReply) -> str:
    """The reply as headed plain-text sections: THINK, ANSWER, FINAL."""
    think_heading = "THINK"
    if reply.truncated:
        think_heading += " (cut off: the reply ended inside the reasoning)"
    sections = [
        (think_heading, reply.think or "(none)"),
        ("ANSWER", reply.answer or "(none)"),
        ("FINAL", reply.final if reply.final is not None else "(no boxed answer)"),
    ]
    return "\n".join(f"{heading}\n{body}\n" for heading, body in sections)


def format_reading(reading: AnswerReading | None) -> str:
    """The reading as a plain-text section: a READING heading naming the reader's kind, then one
    ``name: value`` line per field (values other than text as JSON); "(none)" without one."""
    if reading is None:
        return "READING\n(none)\n"
    fields = reading.as_dict()
    lines = [f"READING ({fields.pop('kind')})"]
    for name, value in fields.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{name}: {shown}")
    return "\n".join(lines) + "\n"


def _read_input(path: Path | None) -> Iterator[str]:
    if path is None:
        return stdin_chunks(CHUNK_BYTES)
    try:
        stream = path.open("rb")
    except OSError as error:
        raise TextInputError(f"cannot open {path}: {error.strerror}; "
                             "give the path of a text file holding the reply") from error
    return _decoded_chunks_then_close(stream, str(path))


def _decoded_chunks_then_close(stream: BinaryIO, name: str) -> Iterator[str]:
    with stream:
        yield from utf8_chunks(stream, name, CHUNK_BYTES)
