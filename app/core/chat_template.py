"""Turning a conversation into the prompt text a model was trained on.

Fin-R1 GGUFs, recognised from their metadata whoever converted them, get the app's own pinned
Qwen2.5 ChatML, so a file's template can never change how Fin-R1 is prompted. Any other GGUF gets
the ``tokenizer.chat_template`` it carries, rendered in Jinja's ``ImmutableSandboxedEnvironment``:
that text comes from a downloaded file, so it may read the conversation but never reach Python
internals (attributes starting with ``_`` are undefined, and using them further is refused). A
GGUF without a template falls back to ChatML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import jinja2
import jinja2.ext
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from quant.errors import ChatTemplateError

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


class ChatTemplate(Protocol):
    """Renders messages to prompt text.

    ``name`` says which template it is (shown to a person). ``render`` returns the prompt for
    ``messages`` followed, when ``add_generation_prompt``, by the opening of the assistant's reply;
    it raises ``ChatTemplateError`` when the template cannot render them.
    """

    name: str

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        ...


class ChatMLTemplate:
    """Qwen2.5's ChatML, pinned in code: ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` each."""

    def __init__(self, name: str = "ChatML (pinned, Qwen2.5)") -> None:
        self.name = name

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        """The ChatML text for ``messages``; never raises."""
        parts = [f"{IM_START}{message.role}\n{message.content}{IM_END}\n" for message in messages]
        if add_generation_prompt:
            parts.append(f"{IM_START}assistant\n")
        return "".join(parts)


def _raise_from_template(message: str) -> None:
    raise ChatTemplateError(f"the model's chat template refused the conversation: {message}")


def _strftime_now(format_string: str) -> str:
    return datetime.now().strftime(format_string)


def _tojson(value: object, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


class SandboxedJinjaTemplate:
    """A chat template taken from a model file, compiled and rendered only inside Jinja's sandbox.

    The environment matches what Hugging Face templates expect (``trim_blocks``, ``lstrip_blocks``,
    ``loopcontrols``, ``raise_exception``, ``strftime_now``, ``tojson``), and offers nothing else.
    Construction raises ``ChatTemplateError`` when the text is not a valid template.
    """

    def __init__(self, source: str, bos_token: str = "", eos_token: str = "",
                 name: str = "the model file's chat template (sandboxed)") -> None:
        self.name = name
        self._bos_token = bos_token
        self._eos_token = eos_token
        environment = ImmutableSandboxedEnvironment(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[jinja2.ext.loopcontrols],
        )
        environment.filters["tojson"] = _tojson
        environment.globals["raise_exception"] = _raise_from_template
        environment.globals["strftime_now"] = _strftime_now
        try:
            self._template = environment.from_string(source)
        except TemplateError as error:
            raise ChatTemplateError(
                f"the chat template in this model file is not a valid template ({error}); "
                "the app will not use it"
            ) from error

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        """Render in the sandbox; a template reaching for Python internals raises
        ``ChatTemplateError`` (when it only names them, they render as empty text)."""
        try:
            return self._template.render(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                add_generation_prompt=add_generation_prompt,
                bos_token=self._bos_token,
                eos_token=self._eos_token,
            )
        except ChatTemplateError:
            raise
        except SecurityError as error:
            raise ChatTemplateError(
                f"the chat template in this model file tried something unsafe ({error}); the app "
                "refused to run it. Use a model file from a trusted source"
            ) from error
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as error:
            raise ChatTemplateError(
                f"the chat template in this model file failed to render the conversation "
                f"({type(error).__name__}: {error})"
            ) from error


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
                         eos_token: str = "") -> ChatTemplate:
    """The template to prompt the model described by ``metadata`` with.

    Fin-R1 → pinned ChatML; a ``tokenizer.chat_template`` string → that template, sandboxed (raises
    ``ChatTemplateError`` when it does not compile); otherwise → ChatML as a fallback.
    """
    if is_fin_r1(metadata):
        return ChatMLTemplate()
    source = metadata.get("tokenizer.chat_template")
    if isinstance(source, str) and source.strip():
        return SandboxedJinjaTemplate(source, bos_token=bos_token, eos_token=eos_token)
    return ChatMLTemplate(name="ChatML (fallback: the model file has no chat template)")
