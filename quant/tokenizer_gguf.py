"""Turns a checkpoint's tokenizer.json / tokenizer_config.json into llama.cpp's tokenizer keys.

Only byte-level BPE tokenizers (Qwen2, Llama 3 and GPT-2 style) are handled; they become
``tokenizer.ggml.model = "gpt2"``. The pre-tokenizer name tells llama.cpp which split regex to use,
so it is derived from the regex in tokenizer.json itself and an unknown regex is refused: a wrong
name would silently tokenize differently from the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf

from quant.checkpoint_config import ModelShape, read_json
from quant.errors import ConfigMismatchError, TokenizerError

QWEN2_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Split regex of tokenizer.json → llama.cpp's `tokenizer.ggml.pre` name.
PRE_TOKENIZER_BY_REGEX = {QWEN2_SPLIT_REGEX: "qwen2", LLAMA3_SPLIT_REGEX: "llama-bpe"}
GPT2_BYTE_LEVEL = "gpt-2"  # ByteLevel(use_regex=True) alone: GPT-2's built-in regex


@dataclass
class TokenizerMetadata:
    """Everything llama.cpp needs to tokenize and to chat like the original."""

    tokens: list[str]
    token_types: list[gguf.TokenType]
    merges: list[str]
    pre_tokenizer: str
    special_ids: dict[str, int] = field(default_factory=dict)  # bos/eos/pad/unk → id
    add_bos: bool = False
    add_eos: bool | None = None
    chat_templates: dict[str, str] = field(default_factory=dict)  # "default" is the main one

    def write(self, writer: gguf.GGUFWriter) -> None:
        """Add the ``tokenizer.*`` keys to ``writer``."""
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(self.pre_tokenizer)
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.token_types)
        writer.add_token_merges(self.merges)
        adders = {
            "bos": writer.add_bos_token_id, "eos": writer.add_eos_token_id,
            "pad": writer.add_pad_token_id, "unk": writer.add_unk_token_id,
        }
        for kind, token_id in self.special_ids.items():
            adders[kind](token_id)
        writer.add_add_bos_token(self.add_bos)
        if self.add_eos is not None:
            writer.add_add_eos_token(self.add_eos)
        named = {name: text for name, text in self.chat_templates.items() if name != "default"}
        if "default" in self.chat_templates:
            writer.add_chat_template(self.chat_templates["default"])
        if named:
            writer.add_chat_template(
                [{"name": name, "template": text} for name, text in named.items()]
            )


def read_tokenizer_metadata(checkpoint_dir: Path, shape: ModelShape,
                            default_pre_tokenizer: str) -> TokenizerMetadata:
    """Build the tokenizer metadata for a checkpoint whose embedding has ``shape.vocab_size`` rows.

    Ids without a token (Qwen2 pads 151,665 tokens to 152,064 rows) become ``[PAD{id}]`` of type
    UNUSED. Raises MissingFileError / TokenizerError for absent or unsupported tokenizers and
    ConfigMismatchError when the tokenizer has more tokens than the embedding has rows.
    """
    tokenizer = read_json(checkpoint_dir / "tokenizer.json")
    tokenizer_config = read_json(checkpoint_dir / "tokenizer_config.json")
    model = tokenizer.get("model") or {}
    if model.get("type") != "BPE" or not _is_byte_level(tokenizer):
        raise TokenizerError(
            f"tokenizer.json holds a {model.get('type', 'unknown')} tokenizer; only byte-level BPE "
            "tokenizers (Qwen2, Llama 3) are supported."
        )
    vocab: dict[str, int] = model.get("vocab") or {}
    added = {entry["id"]: entry for entry in tokenizer.get("added_tokens", [])}
    tokens, token_types = _token_table(vocab, added, shape.vocab_size)
    return TokenizerMetadata(
        tokens=tokens,
        token_types=token_types,
        merges=_merges(model.get("merges") or []),
        pre_tokenizer=_pre_tokenizer_name(tokenizer, default_pre_tokenizer),
        special_ids=_special_ids(tokenizer_config, shape.raw, vocab, added),
        add_bos=_adds_bos(tokenizer, tokenizer_config),
        add_eos=tokenizer_config.get("add_eos_token"),
        chat_templates=_chat_templates(checkpoint_dir, tokenizer_config),
    )


def _is_byte_level(tokenizer: dict[str, Any]) -> bool:
    decoder = tokenizer.get("decoder") or {}
    return decoder.get("type") == "ByteLevel" or any(
        step.get("type") == "ByteLevel" for step in decoder.get("decoders", [])
    )


def _token_table(vocab: dict[str, int], added: dict[int, dict[str, Any]],
                 vocab_size: int) -> tuple[list[str], list[gguf.TokenType]]:
    by_id = {token_id: text for text, token_id in vocab.items()}
    by_id.update({token_id: entry["content"] for token_id, entry in added.items()})
    if by_id and max(by_id) >= vocab_size:
        raise ConfigMismatchError(
            f"the tokenizer has token id {max(by_id)} but config.json vocab_size is {vocab_size}: "
            "the embedding has no row for it."
        )
    tokens: list[str] = []
    token_types: list[gguf.TokenType] = []
    for token_id in range(vocab_size):
        if token_id not in by_id:
            tokens.append(f"[PAD{token_id}]")
            token_types.append(gguf.TokenType.UNUSED)
        elif token_id in added:
            tokens.append(by_id[token_id])
            token_types.append(_added_token_type(added[token_id]))
        else:
            tokens.append(by_id[token_id])
            token_types.append(gguf.TokenType.NORMAL)
    return tokens, token_types


def _added_token_type(entry: dict[str, Any]) -> gguf.TokenType:
    """CONTROL for special tokens and ones that look special (``<|…|>``), else USER_DEFINED —
    llama.cpp's converter rule, so e.g. Qwen2.5's non-special ``<|fim_prefix|>`` is still CONTROL."""
    text = entry["content"]
    looks_special = text.startswith("<|") and text.endswith("|>")
    return gguf.TokenType.CONTROL if entry.get("special") or looks_special else (
        gguf.TokenType.USER_DEFINED
    )


def _merges(raw_merges: list[Any]) -> list[str]:
    """tokenizers ≥ 0.20 stores merges as pairs; GGUF wants ``"left right"`` strings."""
    return [merge if isinstance(merge, str) else " ".join(merge) for merge in raw_merges]


def _split_regexes(pre_tokenizer: dict[str, Any] | None) -> list[str]:
    if not pre_tokenizer:
        return []
    if pre_tokenizer.get("type") == "Sequence":
        return [regex for step in pre_tokenizer.get("pretokenizers", [])
                for regex in _split_regexes(step)]
    if pre_tokenizer.get("type") == "Split":
        pattern = pre_tokenizer.get("pattern") or {}
        return [pattern.get("Regex") or pattern.get("String") or ""]
    if pre_tokenizer.get("type") == "ByteLevel" and pre_tokenizer.get("use_regex", True):
        return [GPT2_BYTE_LEVEL]
    return []


def _pre_tokenizer_name(tokenizer: dict[str, Any], default: str) -> str:
    regexes = _split_regexes(tokenizer.get("pre_tokenizer"))
    if not regexes:
        return default
    if len(regexes) == 1 and regexes[0] == GPT2_BYTE_LEVEL:
        return GPT2_BYTE_LEVEL
    if len(regexes) == 1 and regexes[0] in PRE_TOKENIZER_BY_REGEX:
        return PRE_TOKENIZER_BY_REGEX[regexes[0]]
    raise TokenizerError(
        "tokenizer.json splits text with a pre-tokenizer regex llama.cpp is not known to match "
        f"({regexes[0][:60]!r}…); converting it would tokenize differently from the original."
    )


def _token_text(value: object) -> str | None:
    """tokenizer_config stores special tokens as a string or an AddedToken dict."""
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def _special_ids(tokenizer_config: dict[str, Any], model_config: dict[str, Any],
                 vocab: dict[str, int], added: dict[int, dict[str, Any]]) -> dict[str, int]:
    """bos/eos/pad/unk ids: from tokenizer_config's token texts, else config.json's ids."""
    id_by_text = dict(vocab)
    id_by_text.update({entry["content"]: token_id for token_id, entry in added.items()})
    special_ids: dict[str, int] = {}
    for kind in ("bos", "eos", "pad", "unk"):
        text = _token_text(tokenizer_config.get(f"{kind}_token"))
        if text is not None:
            if text not in id_by_text:
                raise TokenizerError(f"tokenizer_config.json {kind}_token {text!r} is not a token.")
            special_ids[kind] = id_by_text[text]
            continue
        config_id = model_config.get(f"{kind}_token_id")
        if isinstance(config_id, list):
            config_id = config_id[0] if config_id else None
        if isinstance(config_id, int):
            special_ids[kind] = config_id
    return special_ids


def _adds_bos(tokenizer: dict[str, Any], tokenizer_config: dict[str, Any]) -> bool:
    """Whether encoding prepends BOS: tokenizer_config's flag, else the post-processor template."""
    if "add_bos_token" in tokenizer_config:
        return bool(tokenizer_config["add_bos_token"])
    post_processor = tokenizer.get("post_processor") or {}
    steps = post_processor.get("processors", [post_processor])
    for step in steps:
        if step.get("type") == "TemplateProcessing":
            first = (step.get("single") or [{}])[0]
            return "SpecialToken" in first
    return False


def _chat_templates(checkpoint_dir: Path, tokenizer_config: dict[str, Any]) -> dict[str, str]:
    """The chat template(s): tokenizer_config's string or named list, or chat_template.jinja."""
    raw = tokenizer_config.get("chat_template")
    jinja_file = checkpoint_dir / "chat_template.jinja"
    if raw is None and jinja_file.is_file():
        raw = jinja_file.read_text(encoding="utf-8")
    if isinstance(raw, str):
        return {"default": raw}
    if isinstance(raw, list):
        return {entry["name"]: entry["template"] for entry in raw}
    return {}
