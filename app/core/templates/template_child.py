"""The child-process side of chat templates: compile and render a model file's Jinja template.

``app.core.templates.chat_template`` runs ``python -m app.core.templates.template_child`` once per app process
and sends it render requests; see that module for why a child process. This module holds the
sandboxed environment and everything that touches the template, and imports nothing of the app.

Limits, set here and kept whatever the template does:

- **memory**: the address space is capped (``MEMORY_LIMIT_BYTES``, POSIX ``RLIMIT_AS``), so a
  runaway allocation fails with ``MemoryError`` at once instead of swapping the machine;
- **CPU**: before each request the CPU-time limit is set to what was used plus
  ``CPU_SECONDS_PER_REQUEST`` (POSIX ``RLIMIT_CPU``): the kernel ends a runaway render even if the
  parent that would kill it is gone;
- **integers, repetition, concatenation**: ``**``, ``*`` and ``+`` are intercepted by the sandbox
  (which also keeps them out of Jinja's compile-time constant folding): an integer over
  ``MAX_INT_BITS`` bits, or a string or list longer than the request's output limit, is refused
  before it is computed;
- **output**: the template is rendered piece by piece and stopped once it has produced more than
  the request's ``max_output_chars``;
- **recursion**: Python's recursion limit (macros and ``loop()`` recurse through it) is caught.

Protocol (frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON; no pickles, so
the parent never unpickles what a process running foreign code wrote):

- the child first sends ``{"ready": true}``;
- stdin: one request per frame, ``{"source", "max_output_chars"}`` plus, to render, ``"context"``
  (the template's variables: ``messages``, ``add_generation_prompt``, ``bos_token``,
  ``eos_token``); without ``"context"`` the template is only compiled. End of stdin: the parent
  is gone, the child exits.
- stdout: one reply per request, ``{"text": ...}`` or ``{"error": KIND, "message": ...}`` with
  KIND one of ``ERROR_KINDS``; the message is a clause for a sentence, at most
  ``MAX_MESSAGE_CHARS`` long.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import IO, Any

import jinja2
import jinja2.ext
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

CHILD_MODULE = "app.core.templates.template_child"
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
CPU_SECONDS_PER_REQUEST = 3
MAX_INT_BITS = 4096
MAX_MESSAGE_CHARS = 300
MAX_REQUEST_BYTES = 256 * 1024 * 1024
READY = {"ready": True}
# invalid: does not compile; refused: the template's own raise_exception; unsafe: the sandbox
# stopped it; limit: a limit above; failed: any other error while rendering.
ERROR_KINDS = ("invalid", "refused", "unsafe", "limit", "failed")

_HEADER = struct.Struct(">I")
_COMPILED_CACHE_SIZE = 8


# -- frames (used by both sides) -----------------------------------------------------------------

class FrameError(ValueError):
    """A frame that is too large, cut short or not a JSON object."""


def write_frame(stream: IO[bytes], message: dict[str, Any]) -> None:
    """Send one JSON object as a frame and flush."""
    payload = json.dumps(message, ensure_ascii=False).encode("utf-8")
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes], max_bytes: int | Callable[[], int]) -> dict[str, Any] | None:
    """The next frame's JSON object; None at the end of the stream before a frame starts.
    Raises ``FrameError`` for a frame over ``max_bytes`` (or what it returns once the frame's
    header has arrived), cut short, or not a JSON object."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if callable(max_bytes):
        max_bytes = max_bytes()
    if length > max_bytes:
        raise FrameError(f"a frame of {length} bytes, more than {max_bytes}")
    payload = _read_exactly(stream, length)
    if payload is None:
        raise FrameError("the stream ended inside a frame")
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise FrameError(f"a frame that is not JSON ({error})") from error
    if not isinstance(message, dict):
        raise FrameError("a frame that is not a JSON object")
    return message


def _read_exactly(stream: IO[bytes], count: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = count
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# -- the sandbox ---------------------------------------------------------------------------------

class _LimitExceeded(Exception):
    """The template went past one of the limits; the message says which."""


class _TemplateRefusal(Exception):
    """The template called ``raise_exception``."""


class _InvalidTemplate(Exception):
    """The template does not compile."""


def _raise_from_template(message: object) -> None:
    raise _TemplateRefusal(str(message))


def _strftime_now(format_string: str) -> str:
    return datetime.now().strftime(format_string)


def _tojson(value: object, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_bits(value: int) -> int:
    return abs(value).bit_length()


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox as Hugging Face templates expect it (``trim_blocks``,
    ``lstrip_blocks``, ``loopcontrols``, ``raise_exception``, ``strftime_now``, ``tojson``), with
    ``**``, ``*`` and ``+`` checked against ``MAX_INT_BITS`` and ``max_length`` before they run."""

    intercepted_binops = frozenset({"**", "*", "+"})

    def __init__(self) -> None:
        super().__init__(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True,
                         extensions=[jinja2.ext.loopcontrols])
        self.filters["tojson"] = _tojson
        self.globals["raise_exception"] = _raise_from_template
        self.globals["strftime_now"] = _strftime_now
        self.max_length = 1 << 20  # set per request: the longest string or list allowed

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            self._check_power(left, right)
        elif operator == "*":
            self._check_product(left, right)
        elif isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            self._check_length(len(left) + len(right))
        return super().call_binop(context, operator, left, right)

    def _check_power(self, base: Any, exponent: Any) -> None:
        # the bits of base**exponent lie within exponent × log2|base| + 1
        if (_is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1
                and exponent * math.log2(abs(base)) > MAX_INT_BITS):
            raise _LimitExceeded(f"computed an integer of more than {MAX_INT_BITS} bits")

    def _check_product(self, left: Any, right: Any) -> None:
        if _is_int(left) and _is_int(right):
            if _int_bits(left) + _int_bits(right) > MAX_INT_BITS + 1:
                raise _LimitExceeded(f"computed an integer of more than {MAX_INT_BITS} bits")
            return
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and _is_int(count):
                self._check_length(len(sequence) * max(count, 0))

    def _check_length(self, length: int) -> None:
        if length > self.max_length:
            raise _LimitExceeded(f"built a string or list of more than {self.max_length} items")


class TemplateRenderer:
    """Compiles and renders templates for requests; keeps the last few compiled templates."""

    def __init__(self) -> None:
        self._environment = BoundedEnvironment()
        self._compiled: OrderedDict[str, jinja2.Template] = OrderedDict()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request (see the module docstring); never raises for what a template
        does."""
        try:
            return self._handle(request)
        except _TemplateRefusal as error:
            return _error("refused", str(error))
        except SecurityError as error:
            return _error("unsafe", str(error))
        except _LimitExceeded as error:
            return _error("limit", str(error))
        except MemoryError:
            return _error("limit", f"needed more than {MEMORY_LIMIT_BYTES >> 20} MiB of memory")
        except RecursionError:
            return _error("limit", "recursed too deeply (a macro or loop() calling itself)")
        except _InvalidTemplate as error:
            return _error("invalid", str(error))
        except Exception as error:  # the template's code is foreign: report whatever it raises
            return _error("failed", f"{type(error).__name__}: {error}")

    def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        source = request["source"]
        max_output_chars = int(request["max_output_chars"])
        self._environment.max_length = max_output_chars
        template = self._compile(str(source))
        context = request.get("context")
        if context is None:
            return {"text": ""}
        return {"text": _bounded_join(template.generate(**context), max_output_chars)}

    def _compile(self, source: str) -> jinja2.Template:
        template = self._compiled.get(source)
        if template is None:
            try:
                template = self._environment.from_string(source)
            except TemplateError as error:
                raise _InvalidTemplate(str(error)) from error
            self._compiled[source] = template
            if len(self._compiled) > _COMPILED_CACHE_SIZE:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(source)
        return template


def _bounded_join(pieces: Iterable[str], max_chars: int) -> str:
    collected: list[str] = []
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > max_chars:
            raise _LimitExceeded(f"produced more than {max_chars} characters of prompt")
        collected.append(piece)
    return "".join(collected)


def _error(kind: str, message: str) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS - 1] + "…"
    return {"error": kind, "message": message}


# -- the process ---------------------------------------------------------------------------------

def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's time limit bounds the child instead
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT_BYTES if hard == resource.RLIM_INFINITY else min(hard, MEMORY_LIMIT_BYTES)
    # a platform that refuses it (macOS): the time limits still bound the child
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _limit_cpu_for_next_request() -> None:
    try:
        import resource
    except ImportError:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + CPU_SECONDS_PER_REQUEST
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> int:
    """Serve requests from stdin until it ends; returns the exit status."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries frames only
    sys.set_int_max_str_digits(4300)  # Python's default, whatever the environment asked for
    _limit_memory()
    renderer = TemplateRenderer()
    write_frame(replies, READY)
    while True:
        request = read_frame(requests, MAX_REQUEST_BYTES)
        if request is None:
            return 0
        _limit_cpu_for_next_request()
        write_frame(replies, renderer.handle(request))


if __name__ == "__main__":
    sys.exit(main())
