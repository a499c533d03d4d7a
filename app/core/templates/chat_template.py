"""Turning a conversation into the prompt text a model was trained on.

Fin-R1 GGUFs, recognised from their metadata whoever converted them, get the app's own pinned
Qwen2.5 ChatML, so a file's template can never change how Fin-R1 is prompted. Any other GGUF gets
the ``tokenizer.chat_template`` it carries, compiled and rendered in Jinja's
``ImmutableSandboxedEnvironment`` inside a child process (``app.core.templates.template_child``), with
limits on time, memory, output length, recursion and integer size. A GGUF without a template, or
whose template fails a trial render at load, gets ChatML, with a warning that says why.

Why a child process. That text comes from a downloaded file. Jinja's sandbox keeps it from Python
internals (attributes starting with ``_`` are undefined, using them further is refused), but not
from the machine's resources: macros and ``loop()`` recurse into ``RecursionError``;
``'x' * 10**10`` or a string doubled in a loop takes gigabytes; ``10**(10**8)`` is one C call that
holds the GIL for minutes and ignores Ctrl-C; nested ``range(10**5)`` loops run for a minute; and
Jinja evaluates constant expressions while *compiling*, so some of this happens at load, outside
any render's error handling. Checks inside the process could intercept the operators, but not
every C-level method and filter a template may call (``ljust``, ``center``, ``replace``, format
widths…), and nothing in the process can stop one C call that holds the GIL or bound the memory
of one thread. A child process can be killed when its time is up, and the kernel bounds its
memory and CPU (POSIX ``RLIMIT_AS``/``RLIMIT_CPU``; on Windows the time limit alone, with the
operator checks, bounds it). The sandbox stays: it is what keeps a template from the child's own
Python, and its operator checks give a clear message before the kernel has to step in.

What it costs. One child per app process (``app.core.templates.sandbox``), started at the first
load of a model with its own template, then kept: a render is one pipe round trip carrying the
template and the conversation (the child keeps compiled templates). ``bench/chat_template_sandbox.py``
measures both against rendering in-process. A render that times out or crashes kills the child;
the next starts another.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from app.core.errors import ChatTemplateError
from app.core.templates.sandbox import TemplateSandbox, stopped_sentence, template_sandbox

Role = Literal["system", "user", "assistant"]

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"

# Metadata keys that name the model or where it came from; base-model keys are left out on purpose,
# a fine-tune OF Fin-R1 is another model with perhaps another format.
_IDENTITY_KEYS = (
    "general.name",
    "general.basename",
    "general.finetune",
    "general.url",
    "general.repo_url",
    "general.source.url",
    "general.source.repo_url",
    "general.source.huggingface.repository",
)
# "Fin-R1", "fin_r1", "Fin R1", "FinR1", "SUFE-AIFLM-Lab/Fin-R1"; not "dolphin-r1" or "Fin-R10".
_FIN_R1_NAME = re.compile(r"(?<![a-z0-9])fin[\s_.\-]?r1(?![0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation. ``content`` is the text exactly as shown to the person."""

    role: Role
    content: str


# A prompt may repeat the conversation a few times (a system prompt, tool lists), never more.
MIN_OUTPUT_CHARS = 256 * 1024
OUTPUT_CHARS_PER_INPUT_CHAR = 4
# A conversation with every role, for the trial render at load.
PROBE_CONVERSATION = (
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Hello."),
    ChatMessage("assistant", "Hello! How can I help?"),
    ChatMessage("user", "What is 2 + 2?"),
)
FILE_TEMPLATE_NAME = "the model file's chat template (sandboxed)"
FALLBACK_NAME = "ChatML (fallback: the model file's chat template cannot be used)"


class ChatTemplate(Protocol):
    """Renders messages to prompt text.

    ``name`` says which template it is (shown to a person); ``warning`` is a sentence to show the
    person when the template is a fallback they should know about, else None. ``render`` returns
    the prompt for ``messages`` followed, when ``add_generation_prompt``, by the opening of the
    assistant's reply; it raises ``ChatTemplateError`` when the template cannot render them.
    """

    name: str
    warning: str | None

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        ...


class ChatMLTemplate:
    """Qwen2.5's ChatML, pinned in code: ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` each."""

    def __init__(self, name: str = "ChatML (pinned, Qwen2.5)", warning: str | None = None) -> None:
        self.name = name
        self.warning = warning

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        """The ChatML text for ``messages``; never raises."""
        parts = [f"{IM_START}{message.role}\n{message.content}{IM_END}\n" for message in messages]
        if add_generation_prompt:
            parts.append(f"{IM_START}assistant\n")
        return "".join(parts)


class ChatTemplateRefusal(ChatTemplateError):
    """The template itself refused the conversation (its ``raise_exception``, e.g. "roles must
    alternate"): the template works, the conversation breaks its rules."""


def _sentence(reply: Mapping[str, Any]) -> str:
    """The ``ChatTemplateError`` message for an error reply of the child."""
    kind, message = reply.get("error"), str(reply.get("message", ""))
    if kind == "invalid":
        return (f"the chat template in this model file is not a valid template ({message}); "
                "the app will not use it")
    if kind == "refused":
        return f"the model's chat template refused the conversation: {message}"
    if kind == "unsafe":
        return (f"the chat template in this model file tried something unsafe ({message}); the "
                "app refused to run it. Use a model file from a trusted source")
    if kind == "limit":
        return stopped_sentence(f"it {message}")
    return f"the chat template in this model file failed to render the conversation ({message})"


def output_limit(messages: Sequence[ChatMessage], *texts: str) -> int:
    """The most characters a render of ``messages`` may produce (see ``OUTPUT_CHARS_PER_INPUT_CHAR``)."""
    size = sum(len(message.content) for message in messages) + sum(len(text) for text in texts)
    return MIN_OUTPUT_CHARS + OUTPUT_CHARS_PER_INPUT_CHAR * size


class SandboxedJinjaTemplate:
    """A chat template taken from a model file, compiled and rendered only in the sandbox child.

    Construction compiles it there and raises ``ChatTemplateError`` when it is not a valid
    template or goes past a limit while compiling. ``sandbox`` defaults to the app's one.
    """

    def __init__(self, source: str, bos_token: str = "", eos_token: str = "",
                 name: str = FILE_TEMPLATE_NAME, sandbox: TemplateSandbox | None = None) -> None:
        self.name = name
        self.warning: str | None = None
        self._source = source
        self._bos_token = bos_token
        self._eos_token = eos_token
        self._sandbox = sandbox or template_sandbox()
        self._ask({"source": source, "max_output_chars": MIN_OUTPUT_CHARS})

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        """Render in the sandbox. Raises ``ChatTemplateError`` when the template refuses the
        conversation (``raise_exception``), reaches for Python internals (when it only names
        them, they render as empty text), fails, or goes past a limit (time, memory, output
        length, recursion, integer size)."""
        context = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self._bos_token,
            "eos_token": self._eos_token,
        }
        limit = output_limit(messages, self._bos_token, self._eos_token)
        reply = self._ask({"source": self._source, "max_output_chars": limit, "context": context})
        return str(reply["text"])

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        reply = self._sandbox.request(request)
        if reply.get("error") == "refused":
            raise ChatTemplateRefusal(_sentence(reply))
        if "error" in reply:
            raise ChatTemplateError(_sentence(reply))
        return reply


def is_fin_r1(metadata: Mapping[str, object]) -> bool:
    """True when the GGUF metadata names Fin-R1 (name, basename, fine-tune or source address).

    Case, and ``-``/``_``/``.``/space between "Fin" and "R1", do not matter; "Fin" must start a word
    and "R1" must not continue with a digit.
    """
    for key in _IDENTITY_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and _FIN_R1_NAME.search(value):
            return True
    return False


def choose_chat_template(metadata: Mapping[str, object], bos_token: str = "",
                         eos_token: str = "", sandbox: TemplateSandbox | None = None
                         ) -> ChatTemplate:
    """The template to prompt the model described by ``metadata`` with; never raises.

    Fin-R1 → pinned ChatML; a ``tokenizer.chat_template`` string → that template, sandboxed, once
    it has compiled and rendered ``PROBE_CONVERSATION`` (a template refusing that conversation
    with ``raise_exception`` is kept: it follows its own rules); otherwise → ChatML as a fallback,
    whose ``warning`` says why when the file's template failed.
    """
    if is_fin_r1(metadata):
        return ChatMLTemplate()
    source = metadata.get("tokenizer.chat_template")
    if not isinstance(source, str) or not source.strip():
        return ChatMLTemplate(name="ChatML (fallback: the model file has no chat template)")
    try:
        template = SandboxedJinjaTemplate(source, bos_token=bos_token, eos_token=eos_token,
                                          sandbox=sandbox)
        with contextlib.suppress(ChatTemplateRefusal):
            template.render(PROBE_CONVERSATION)
    except ChatTemplateError as error:
        return ChatMLTemplate(name=FALLBACK_NAME, warning=(
            f"{error}. The app prompts this model with ChatML instead, which may not be the "
            "format it was trained on"
        ))
    return template
