"""The child-process side of document extraction: read one file as text under hard limits.

``app.core.documents.extraction`` runs ``python -m app.core.documents.extract_child`` for each
document; see that module for why. Before it touches the file the child caps itself: its
address space at the request's ``memory_bytes`` (POSIX ``RLIMIT_AS``: an allocation past it fails
at once, a decompression bomb cannot swap the machine) and its CPU time at ``cpu_seconds``
(``RLIMIT_CPU``: the kernel ends it even if the parent that would kill it is gone). On Windows,
which has neither, the parent's time limit alone bounds it. It also refuses any network
connection from Python: no reader makes one, and no path through a library that was not
foreseen (a link, an external entity) can either.

Then it checks that the file is what its extension says (a PDF, a ZIP package, not an older
Office file) and hands it to the reader for its kind. Files are opened for reading only.

Protocol (the frames of ``app.core.templates.template_child``: a 4-byte big-endian length, then UTF-8
JSON; no pickles, so the parent never unpickles what a process that parsed a foreign file wrote):

- stdin: one request frame, ``ExtractRequest.to_dict()``;
- stdout: ``{"progress": [done, total]}`` after each part, then one reply:
  ``{"result": DocumentText.to_dict()}`` or ``{"error": KIND, "message": SENTENCE}``, KIND one of
  ``collector.FAILURE_KINDS`` or ``"memory"`` (the memory limit was reached; no message).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from app.core.documents.collector import ExtractFailure, ExtractRequest, PartCollector
from app.core.documents.office_readers import EXCEL_MAIN_PART, PACKAGE_KINDS, checked_zip_names
from app.core.templates.template_child import FrameError, read_frame, write_frame

CHILD_MODULE = "app.core.documents.extract_child"
MAX_REQUEST_BYTES = 1024 * 1024
_HEADER_BYTES = 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc/.xls, and password-protected .docx/.xlsx
_PACKAGES = {"docx": "word/document.xml", "xlsx": EXCEL_MAIN_PART}

Reader = Callable[[ExtractRequest, PartCollector], None]


def _reader(kind: str) -> Reader:
    """The reader for ``kind``, imported on demand: a child imports only the library it uses."""
    if kind == "pdf":
        from app.core.documents.pdf_reader import read_pdf
        return read_pdf
    if kind in ("docx", "xlsx"):
        from app.core.documents.office_readers import read_docx, read_xlsx
        return read_docx if kind == "docx" else read_xlsx
    from app.core.documents import text_readers
    readers: dict[str, Reader] = {"csv": text_readers.read_csv,
                                  "text": text_readers.read_plain_text,
                                  "markdown": text_readers.read_markdown,
                                  "html": text_readers.read_html}
    if kind not in readers:
        raise ExtractFailure("format", f"there is no reader for documents of kind {kind!r}")
    return readers[kind]


def extract(request: ExtractRequest, report: Callable[[int, int], None]) -> dict[str, Any]:
    """Read the requested document; returns the reply frame (see the module docstring). Never
    raises for what the file holds."""
    name = request.file_name
    collector = PartCollector(request, report)
    try:
        _check_what_it_is(request)
        _reader(request.kind)(request, collector)
        return {"result": collector.result().to_dict()}
    except ExtractFailure as failure:
        return {"error": failure.kind, "message": failure.message}
    except MemoryError:
        return {"error": "memory", "message": ""}
    except RecursionError:
        return {"error": "format", "message": (
            f"{name} nests its contents too deeply to be read (a damaged or hostile file); "
            "open it in the program that made it, save a copy and attach that.")}
    except OSError as error:
        return {"error": "unreadable", "message": (
            f"{name} cannot be read ({error.strerror or error}); check that it exists and that "
            "you may read it.")}
    except Exception as error:  # the libraries raise many kinds for a damaged file
        return {"error": "format", "message": (
            f"{name} could not be read ({type(error).__name__}: {str(error)[:200]}); it may be "
            "damaged: open it in the program that made it, save a copy and attach that.")}


def _check_what_it_is(request: ExtractRequest) -> None:
    """Refuse a file whose first bytes show another type than its extension names."""
    path, name, kind = Path(request.path), request.file_name, request.kind
    with path.open("rb") as stream:
        header = stream.read(_HEADER_BYTES)
    looks = _looks_like(header)
    if kind == "pdf":
        if looks in ("zip", "ole"):
            raise _misnamed(name, "a PDF", _description(path, name, looks))
    elif kind in _PACKAGES:
        if looks != "zip":
            wanted = PACKAGE_KINDS[_PACKAGES[kind]]
            if looks is None:
                raise ExtractFailure("format", (
                    f"{name} is not {wanted}: it is not a ZIP package as Office saves one (it "
                    "may be damaged, or another kind of file); attach the document itself."))
            raise _misnamed(name, wanted, _description(path, name, looks))
    elif looks is not None:
        raise _misnamed(name, "a text file", _description(path, name, looks))


def _looks_like(header: bytes) -> str | None:
    if b"%PDF-" in header:
        return "pdf"
    if header.startswith(_ZIP_MAGIC):
        return "zip"
    if header.startswith(_OLE_MAGIC):
        return "ole"
    return None


def _description(path: Path, name: str, looks: str) -> str:
    if looks == "pdf":
        return "a PDF (.pdf)"
    if looks == "ole":
        return ("an older Office file (.doc, .xls) or a password-protected one, which the app "
                "cannot read: save it from Office as .docx or .xlsx without a password")
    names = checked_zip_names(path, name)
    return next((kind for part, kind in PACKAGE_KINDS.items() if part in names),
                "a ZIP archive")


def _misnamed(name: str, wanted: str, actual: str) -> ExtractFailure:
    advice = ("" if "cannot read" in actual
              else "; rename it with the extension of its type and attach it again")
    return ExtractFailure("format", f"{name} is not {wanted}: it is {actual}{advice}.")


# -- the process ---------------------------------------------------------------------------------

def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's time limit bounds the child instead
        return
    for limit, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu_seconds)):
        _, hard = resource.getrlimit(limit)
        soft = value if hard == resource.RLIM_INFINITY else min(hard, value)
        # a platform that refuses it (macOS refuses RLIMIT_AS): the other limits still hold
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (soft, hard))


def _refuse_network(*_args: object, **_kwargs: object) -> NoReturn:
    raise OSError("the document reader has no network access")


def _forbid_network() -> None:
    for method in ("connect", "connect_ex", "sendto"):
        setattr(socket.socket, method, _refuse_network)
    socket.create_connection = _refuse_network
    socket.getaddrinfo = _refuse_network


def main() -> int:
    """Serve one request from stdin; returns the exit status (0 whenever a reply was sent)."""
    # Ctrl-C reaches the whole process group; the parent decides whether to stop this child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries frames only
    try:
        frame = read_frame(requests, MAX_REQUEST_BYTES)
        request = ExtractRequest.from_dict(frame) if frame is not None else None
    except (FrameError, KeyError, TypeError, ValueError) as error:
        print(f"extract_child: a malformed request: {error}", file=sys.stderr)
        return 2
    if request is None:
        return 0
    _limit_resources(request.memory_bytes, request.cpu_seconds)
    _forbid_network()
    reply = extract(request, lambda done, total: write_frame(replies, {"progress": [done,
                                                                                   total]}))
    write_frame(replies, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
