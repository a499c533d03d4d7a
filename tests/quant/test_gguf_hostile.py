"""Hostile GGUFs: every file the validator accepts loads and decodes without taking llama.cpp's
process down; every file it refuses is refused with a short printable message naming the key or
tensor that is wrong; no length in a file makes it copy or decode more than that kind allows.

The corpus is made here from the two fixtures (the tiny Qwen2 model and SmolLM2, a Llama), one
mutant per hostile value (tests/support/hostile_gguf.py): the causes an adversarial corpus found to abort
llama.cpp (block counts, repeated token texts, negative or NaN epsilons, norm weights retyped to
I32) and the neighbours of each (head counts, head sizes, rope, context, experts, matrix weight
types), plus values llama.cpp takes, which the validator must take too. Accepted mutants are
loaded in a child process (``app.core.engine.load_probe``), so a crash would fail the test, not end it.
"""

from __future__ import annotations

import math
import re
import struct
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.engine.load_probe import probe_load
from quant.errors import GGUFValidationError
from quant.gguf_check import read_metadata_value, validate_gguf
from quant.llama_rules import ATTENTION_SHAPES
from tests.support.hostile_gguf import (
    ARRAY,
    FLOAT32,
    GGML_TYPES,
    INT32,
    STRING,
    UINT32,
    GGUFParts,
    encode_entry,
)

TOKENS = "tokenizer.ggml.tokens"
MESSAGE_CHARS = 400  # a refusal's length, the file's path left out


@dataclass(frozen=True)
class Mutant:
    """A changed fixture: ``names`` is what the refusal must name (a key or a tensor), or None
    for a file llama.cpp takes, which the validator must accept."""

    label: str
    parts: GGUFParts
    names: str | None


def hostile_corpus(parts: GGUFParts) -> list[Mutant]:
    """One mutant per hostile value for the fixture ``parts`` (see the module docstring)."""
    arch = parts.architecture
    tokens = parts.string_items(TOKENS)
    heads = int(parts.scalar(f"{arch}.attention.head_count", "<I"))
    layers = int(parts.scalar(f"{arch}.block_count", "<I"))
    mutants: list[Mutant] = []

    def key(name: str) -> str:
        return f"{arch}.{name}"

    def refused(label: str, mutated: GGUFParts, names: str) -> None:
        mutants.append(Mutant(f"{arch}: {label}", mutated, names))

    def accepted(label: str, mutated: GGUFParts) -> None:
        mutants.append(Mutant(f"{arch}: {label}", mutated, None))

    def value(name: str, value_type: int, new: object) -> GGUFParts:
        return parts.with_value(key(name), value_type, new)

    # layers: GGML_ASSERT(n_layer_all > 0 && n_layer_all <= LLAMA_MAX_LAYERS)
    for count in (0, 513, 4096, 2**32 - 1):
        refused(f"block_count {count}", value("block_count", UINT32, count), key("block_count"))
    refused("block_count as a string", value("block_count", STRING, "2"), key("block_count"))
    refused("nextn_predict_layers above the layers",
            value("nextn_predict_layers", UINT32, layers + 1), key("nextn_predict_layers"))
    # vocabulary: GGML_ASSERT(id_to_token.size() == token_to_id.size())
    for first, second in ((0, 1), (1, len(tokens) - 1), (len(tokens) // 2, len(tokens) // 2 + 1)):
        twice = list(tokens)
        twice[second] = tokens[first]
        refused(f"token {second} spelled like token {first}",
                parts.with_string_items(TOKENS, twice), TOKENS)
    cut = list(tokens)
    cut[5] = tokens[4] + b"\x00tail"  # llama.cpp reads texts as C strings
    refused("a token equal to another up to a NUL", parts.with_string_items(TOKENS, cut), TOKENS)
    renamed = list(tokens)
    renamed[3], renamed[6] = b"", b"[EMPTY_3]"  # llama.cpp's name for the empty token 3
    refused("an empty token and its stand-in name", parts.with_string_items(TOKENS, renamed),
            TOKENS)
    two_empty = list(tokens)
    two_empty[7] = two_empty[8] = b""
    accepted("two empty token texts", parts.with_string_items(TOKENS, two_empty))
    # epsilon: GGML_ASSERT(eps >= 0.0f) at the first decode
    epsilon = "attention.layer_norm_rms_epsilon"
    for number in (-1e-6, -1.0, math.nan, -math.inf, math.inf):
        refused(f"rms epsilon {number}", value(epsilon, FLOAT32, number), key(epsilon))
    refused("rms epsilon as a string", value(epsilon, STRING, "1e-6"), key(epsilon))
    refused("layer-norm epsilon -1", value("attention.layer_norm_epsilon", FLOAT32, -1.0),
            key("attention.layer_norm_epsilon"))
    for number in (0.0, -0.0, 1e-2):
        accepted(f"rms epsilon {number}", value(epsilon, FLOAT32, number))
    # rope: GGML_ASSERT(rope_scaling_type_train != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED)
    for name in ("bogus", "", "YARN", "linear "):
        refused(f"rope scaling type {name!r}", value("rope.scaling.type", STRING, name),
                key("rope.scaling.type"))
    refused("rope scaling type as a number", value("rope.scaling.type", UINT32, 1),
            key("rope.scaling.type"))
    for number in (0.0, -1.0, math.nan, math.inf):
        refused(f"rope base {number}", value("rope.freq_base", FLOAT32, number),
                key("rope.freq_base"))
    for number in (-1.0, math.nan):
        refused(f"rope scaling factor {number}", value("rope.scaling.factor", FLOAT32, number),
                key("rope.scaling.factor"))
    linear = value("rope.scaling.type", STRING, "linear")
    accepted("linear rope scaling ×2", linear.with_value(key("rope.scaling.factor"), FLOAT32, 2.0))
    accepted("no rope scaling", value("rope.scaling.type", STRING, "none"))
    # context
    refused("context length 0", value("context_length", UINT32, 0), key("context_length"))
    for count in (1, 2**32 - 1):
        accepted(f"context length {count}", value("context_length", UINT32, count))
    # heads and head sizes, as the graph asserts them
    head_count, kv_count = key("attention.head_count"), key("attention.head_count_kv")
    refused("no heads", value("attention.head_count", UINT32, 0), head_count)
    refused("no KV heads", value("attention.head_count_kv", UINT32, 0), kv_count)
    non_divisor = next(n for n in range(2, heads + 2) if heads % n)
    refused(f"{non_divisor} KV heads for {heads} heads",
            value("attention.head_count_kv", UINT32, non_divisor), kv_count)
    refused("a head count that does not fit the embedding",
            value("attention.head_count", UINT32, heads - 1), head_count)
    refused("per-layer head counts that differ",
            value("attention.head_count", ARRAY, (INT32, [heads] * (layers - 1) + [heads * 2])),
            head_count)
    refused("per-layer head counts for too few layers",
            value("attention.head_count", ARRAY, (INT32, [heads] * (layers - 1))), head_count)
    accepted("per-layer head counts, all equal",
             value("attention.head_count", ARRAY, (INT32, [heads] * layers)))
    accepted("as many KV heads as heads", value("attention.head_count_kv", UINT32, heads))
    head_size = int(parts.scalar(key("embedding_length"), "<I")) // heads
    refused("key and value heads of different sizes",
            value("attention.key_length", UINT32, head_size // 2), key("attention.key_length"))
    refused("rotary dimensions other than the head size",
            value("rope.dimension_count", UINT32, head_size // 2), key("rope.dimension_count"))
    # experts: the expert asserts of load_hparams
    refused("2000 experts", value("expert_count", UINT32, 2000), key("expert_count"))
    refused("used experts without experts", value("expert_used_count", UINT32, 2),
            key("expert_used_count"))
    refused("experts none of which is used", value("expert_count", UINT32, 4),
            key("expert_used_count"))
    # tensor types by role (one tensor per role): binary_op aborts on a non-F32 norm or bias
    roles = {re.sub(r"^blk\.\d+\.", "", tensor.name): tensor for tensor in reversed(parts.tensors)}
    for tensor in roles.values():
        if tensor.ggml_type == GGML_TYPES["F32"]:
            refused(f"{tensor.name} as I32",
                    parts.with_tensor_type(tensor.name, GGML_TYPES["I32"]), tensor.name)
        elif tensor.ggml_type == GGML_TYPES["BF16"]:
            refused(f"{tensor.name} as I16",
                    parts.with_tensor_type(tensor.name, GGML_TYPES["I16"]), tensor.name)
            accepted(f"{tensor.name} as F16",
                     parts.with_tensor_type(tensor.name, GGML_TYPES["F16"]))
    return mutants


@pytest.fixture(scope="module", params=["qwen2", "smollm2"])
def fixture_parts(request: pytest.FixtureRequest) -> GGUFParts:
    """Each fixture model taken apart."""
    if request.param == "qwen2":
        path = request.getfixturevalue("tiny_gguf_factory")("bf16")
    else:
        path = request.getfixturevalue("smollm2_gguf")
    return GGUFParts.read(path)


def refusal(path: Path) -> str:
    """The validator's message for ``path`` without the path; fails the test if it accepts."""
    with pytest.raises(GGUFValidationError) as caught:
        validate_gguf(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


def assert_short_and_printable(message: str) -> None:
    assert len(message) <= MESSAGE_CHARS, message[:MESSAGE_CHARS] + "…"
    assert message.isprintable(), ascii(message[:MESSAGE_CHARS])


# --- the corpus ------------------------------------------------------------------------------------

def test_the_corpus_covers_every_converter_architecture_and_each_cause() -> None:
    from quant.architectures import ARCHITECTURES

    assert {a.gguf_arch_name for a in ARCHITECTURES.values()} <= set(ATTENTION_SHAPES)


def test_every_hostile_value_is_refused_naming_the_key_or_tensor(
        fixture_parts: GGUFParts, tmp_path: Path) -> None:
    wrong = []
    for number, mutant in enumerate(hostile_corpus(fixture_parts)):
        if mutant.names is None:
            continue
        path = mutant.parts.write(tmp_path / f"mutant-{number}.gguf", sparse=True)
        try:
            message = refusal(path)
        except pytest.fail.Exception:
            wrong.append(f"{mutant.label}: accepted")
            continue
        finally:
            path.unlink()
        if mutant.names not in message or len(message) > MESSAGE_CHARS \
                or not message.isprintable():
            wrong.append(f"{mutant.label}: {message[:200]}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def unmutated_outcome(fixture_parts: GGUFParts, tmp_path_factory: pytest.TempPathFactory) -> str:
    """How the unchanged fixture, written the way mutants are, ends in the load probe."""
    path = fixture_parts.write(tmp_path_factory.mktemp("unmutated") / "unmutated.gguf")
    outcome = probe_load(path, threads=1)
    if outcome.kind == "crashed":
        pytest.skip(f"llama.cpp crashes on the unchanged {path.name} on this machine "
                    f"({outcome.exit_status}: {outcome.last_message}); mutants cannot be judged")
    assert outcome.kind == "passed", outcome
    return outcome.kind


def test_every_value_llama_cpp_takes_is_accepted_and_loads_without_crashing(
        fixture_parts: GGUFParts, unmutated_outcome: str, tmp_path: Path) -> None:
    wrong = []
    for number, mutant in enumerate(hostile_corpus(fixture_parts)):
        if mutant.names is not None:
            continue
        path = mutant.parts.write(tmp_path / f"mutant-{number}.gguf")
        try:
            validate_gguf(path)
        except GGUFValidationError as error:
            wrong.append(f"{mutant.label}: refused: {error}")
            continue
        # "refused": llama.cpp turned it down with an error of its own, which the engine reports
        outcome = probe_load(path, threads=1)
        if outcome.kind not in ("passed", "refused"):
            wrong.append(f"{mutant.label}: {outcome}")
        path.unlink()
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("label", "mutate"), [
    ("block count 0", lambda p, a: p.with_value(f"{a}.block_count", UINT32, 0)),
    ("repeated token text", lambda p, a: p.with_string_items(
        TOKENS, [p.string_items(TOKENS)[0], *p.string_items(TOKENS)[:-1]])),
    ("negative epsilon", lambda p, a: p.with_value(
        f"{a}.attention.layer_norm_rms_epsilon", FLOAT32, -1e-6)),
    ("NaN epsilon", lambda p, a: p.with_value(
        f"{a}.attention.layer_norm_rms_epsilon", FLOAT32, math.nan)),
    ("norm weight as I32", lambda p, a: p.with_tensor_type(
        "blk.0.attn_norm.weight", GGML_TYPES["I32"])),
    ("unknown rope scaling", lambda p, a: p.with_value(f"{a}.rope.scaling.type", STRING, "x")),
    ("key and value heads of different sizes", lambda p, a: p.with_value(
        f"{a}.attention.key_length", UINT32, 32)),
])
def test_what_the_validator_refuses_does_abort_llama_cpp(
        tiny_gguf_factory: Callable[..., Path], tmp_path: Path, label: str,
        mutate: Callable[[GGUFParts, str], GGUFParts]) -> None:
    parts = GGUFParts.read(tiny_gguf_factory("bf16"))
    path = mutate(parts, parts.architecture).write(tmp_path / "mutant.gguf")

    refusal(path)
    outcome = probe_load(path, threads=1)

    assert outcome.kind == "crashed", outcome
    assert "GGML_ASSERT" in outcome.last_message or "unsupported types" in outcome.last_message


# --- one inflated length ---------------------------------------------------------------------------

def inflated(parts: GGUFParts, path: Path, position: int) -> Path:
    """``parts`` written to ``path`` (tensor data as a hole) with the string length at
    ``position`` claiming the rest of the file."""
    parts.write(path, sparse=True)
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.seek(position)
        file.write(struct.pack("<Q", size - position - 8))
    return path


def length_positions(parts: GGUFParts) -> Iterator[tuple[str, int]]:
    """Where the lengths of each kind of string sit in the file ``parts.write`` makes."""
    first_key = parts.entries[0][0]
    yield "the first key's name", parts.entry_position(first_key)
    yield "a later key's name", parts.entry_position("tokenizer.chat_template")
    name_key = "general.name"
    yield "a string value", parts.entry_position(name_key) + 8 + len(name_key) + 4
    template_key = "tokenizer.chat_template"
    yield "the chat template", parts.entry_position(template_key) + 8 + len(template_key) + 4
    yield "a token text", parts.entry_position(TOKENS) + 8 + len(TOKENS) + 4 + 4 + 8
    yield "a tensor name", parts.tensor_position(parts.tensors[-1].name)


def test_an_inflated_length_is_refused_without_reading_the_string(
        smollm2_gguf: Path, tmp_path: Path) -> None:
    parts = GGUFParts.read(smollm2_gguf)
    for what, position in length_positions(parts):
        path = inflated(parts, tmp_path / "inflated.gguf", position)
        tracemalloc.start()
        try:
            message = refusal(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 4 << 20, f"{what}: {peak} bytes allocated"
        assert_short_and_printable(message)
        assert f"claims {path.stat().st_size - position - 8} bytes" in message, (what, message)


def test_each_kind_of_string_has_its_own_bound(tiny_gguf_factory: Callable[..., Path],
                                               tmp_path: Path) -> None:
    parts = GGUFParts.read(tiny_gguf_factory("bf16"))
    long_key = "general." + "k" * 300
    path = parts.with_value(long_key, STRING, "v").write(tmp_path / "key.gguf", sparse=True)
    assert "a key name has at most 256" in refusal(path)
    template = "{{ x }}" * 200_000
    path = parts.with_value("tokenizer.chat_template", STRING, template).write(
        tmp_path / "template.gguf", sparse=True)
    assert "a chat template has at most 1048576" in refusal(path)
    tokens = parts.string_items(TOKENS)
    path = parts.with_string_items(TOKENS, [b"x" * 70_000, *tokens[1:]]).write(
        tmp_path / "token.gguf", sparse=True)
    assert "an item of a string array has at most 65536" in refusal(path)


def test_a_long_string_of_its_own_kind_is_read_whole(tiny_gguf_factory: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    parts = GGUFParts.read(tiny_gguf_factory("bf16"))
    template = "{{ messages }}" * 50_000  # 700 kB: long, but a template may be
    path = parts.with_value("tokenizer.chat_template", STRING, template).write(
        tmp_path / "long-template.gguf")
    assert validate_gguf(path).chat_template == template
    assert read_metadata_value(path, "tokenizer.chat_template") == template


def test_names_in_messages_are_short_escaped_excerpts(tiny_gguf_factory: Callable[..., Path],
                                                      tmp_path: Path) -> None:
    parts = GGUFParts.read(tiny_gguf_factory("bf16"))
    hostile = "\x1b[2J\x07" + "A" * 200 + "\n\x00"
    twice = parts.with_value(hostile, UINT32, 1)
    doubled = twice.with_entry("dummy", encode_entry(hostile, UINT32, 2))
    message = refusal(doubled.write(tmp_path / "keys.gguf", sparse=True))
    assert_short_and_printable(message)
    assert "appears twice" in message and "\\x1b[2J\\x07AAA" in message
    assert "A" * 60 not in message
