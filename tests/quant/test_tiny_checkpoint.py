"""The tiny checkpoint fixture looks like a real Qwen2 checkpoint, and the numpy reference behaves
like a causal language model reading it."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer
from tokenizers.pre_tokenizers import ByteLevel

from tests.support.numpy_reference import reference_logits
from tests.support.tiny_checkpoint import (
    build_tiny_checkpoint,
    load_checkpoint_tensors,
    read_safetensors,
    to_bf16_bits,
    write_safetensors,
)

BILINGUAL_TEXT = (
    "Fin-R1 的夏普比率约为 0.51。Please put the final answer in \\boxed{}.\n"
    "  每月还款约 1,933 元 (6% p.a.)\ttabs\r\nand emoji 😀 café"
)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def num_real_tokens(checkpoint: Path) -> int:
    tokenizer = read_json(checkpoint / "tokenizer.json")
    return len(tokenizer["model"]["vocab"]) + len(tokenizer["added_tokens"])


def expected_shapes(config: dict, with_bias: bool, tied: bool) -> dict[str, tuple[int, ...]]:
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    kv_width = config["num_key_value_heads"] * hidden // config["num_attention_heads"]
    shapes = {
        "model.embed_tokens.weight": (config["vocab_size"], hidden),
        "model.norm.weight": (hidden,),
    }
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        shapes |= {
            prefix + "input_layernorm.weight": (hidden,),
            prefix + "post_attention_layernorm.weight": (hidden,),
            prefix + "self_attn.q_proj.weight": (hidden, hidden),
            prefix + "self_attn.k_proj.weight": (kv_width, hidden),
            prefix + "self_attn.v_proj.weight": (kv_width, hidden),
            prefix + "self_attn.o_proj.weight": (hidden, hidden),
            prefix + "mlp.gate_proj.weight": (inter, hidden),
            prefix + "mlp.up_proj.weight": (inter, hidden),
            prefix + "mlp.down_proj.weight": (hidden, inter),
        }
        if with_bias:
            shapes |= {
                prefix + "self_attn.q_proj.bias": (hidden,),
                prefix + "self_attn.k_proj.bias": (kv_width,),
                prefix + "self_attn.v_proj.bias": (kv_width,),
            }
    if not tied:
        shapes["lm_head.weight"] = (config["vocab_size"], hidden)
    return shapes


# --- the checkpoint folder -------------------------------------------------------------------


def test_checkpoint_folder_holds_the_files_a_real_one_has(tiny_checkpoint):
    assert sorted(path.name for path in tiny_checkpoint.iterdir()) == [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_config_describes_a_small_qwen2_with_fin_r1s_hyperparameters(tiny_checkpoint):
    config = read_json(tiny_checkpoint / "config.json")
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["model_type"] == "qwen2"
    assert config["torch_dtype"] == "bfloat16"
    assert config["tie_word_embeddings"] is False
    assert (config["hidden_size"], config["num_hidden_layers"]) == (256, 2)
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (4, 2)
    assert (config["rope_theta"], config["rms_norm_eps"]) == (1e6, 1e-6)
    assert config["hidden_act"] == "silu"


def test_llama_variant_says_llama_and_has_no_attention_biases(tiny_checkpoint_factory):
    checkpoint = tiny_checkpoint_factory(architecture="LlamaForCausalLM")
    config = read_json(checkpoint / "config.json")
    assert (config["architectures"], config["model_type"]) == (["LlamaForCausalLM"], "llama")
    assert not [name for name in load_checkpoint_tensors(checkpoint) if name.endswith(".bias")]


@pytest.mark.parametrize(
    ("architecture", "tied"),
    [("Qwen2ForCausalLM", False), ("Qwen2ForCausalLM", True), ("LlamaForCausalLM", False)],
)
def test_tensor_names_and_shapes_are_hf_names_matching_the_config(
    tiny_checkpoint_factory, architecture, tied
):
    checkpoint = tiny_checkpoint_factory(architecture=architecture, tie_word_embeddings=tied)
    config = read_json(checkpoint / "config.json")
    shapes = {name: tensor.shape for name, tensor in load_checkpoint_tensors(checkpoint).items()}
    assert shapes == expected_shapes(config, architecture == "Qwen2ForCausalLM", tied)
    assert config["tie_word_embeddings"] is tied


def test_qwen2_attention_biases_are_not_zero(tiny_checkpoint):
    tensors = load_checkpoint_tensors(tiny_checkpoint)
    for name in ("q_proj", "k_proj", "v_proj"):
        assert np.abs(tensors[f"model.layers.0.self_attn.{name}.bias"]).mean() > 0.01


def test_vocab_size_pads_past_the_real_tokens_like_fin_r1(tiny_checkpoint):
    vocab_size = read_json(tiny_checkpoint / "config.json")["vocab_size"]
    real = num_real_tokens(tiny_checkpoint)
    assert vocab_size % 64 == 0
    assert 64 <= vocab_size - real < 128


def test_sharded_index_maps_every_tensor_to_the_shard_that_holds_it(tiny_checkpoint_factory):
    checkpoint = tiny_checkpoint_factory(shards=3)
    shard_names = [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    assert sorted(path.name for path in checkpoint.glob("*.safetensors")) == shard_names
    assert not (checkpoint / "model.safetensors").exists()
    index = read_json(checkpoint / "model.safetensors.index.json")
    held_by = {
        name: shard_name
        for shard_name in shard_names
        for name in read_safetensors(checkpoint / shard_name)
    }
    assert index["weight_map"] == held_by
    assert index["metadata"]["total_size"] == sum(
        tensor.size * 2 for tensor in load_checkpoint_tensors(checkpoint).values()
    )


def test_sharding_and_storage_dtype_do_not_change_the_weights(tiny_checkpoint_factory):
    single = load_checkpoint_tensors(tiny_checkpoint_factory(dtype="f32"))
    sharded = load_checkpoint_tensors(tiny_checkpoint_factory(dtype="f32", shards=4))
    in_bf16 = load_checkpoint_tensors(tiny_checkpoint_factory(dtype="bf16"))
    assert single.keys() == sharded.keys() == in_bf16.keys()
    for name, tensor in single.items():
        np.testing.assert_array_equal(sharded[name], tensor)
        np.testing.assert_array_equal(to_bf16_bits(in_bf16[name]), to_bf16_bits(tensor))


def test_weights_are_a_function_of_the_seed(tmp_path):
    first = load_checkpoint_tensors(build_tiny_checkpoint(tmp_path / "a", seed=5))
    again = load_checkpoint_tensors(build_tiny_checkpoint(tmp_path / "b", seed=5))
    other = load_checkpoint_tensors(build_tiny_checkpoint(tmp_path / "c", seed=6))
    name = "model.layers.1.mlp.down_proj.weight"
    np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first[name], other[name])


@pytest.mark.parametrize(
    "bad_options",
    [{"architecture": "MistralForCausalLM"}, {"dtype": "f64"}, {"shards": 0}, {"shards": 10_000}],
)
def test_bad_build_options_raise_and_write_nothing(tmp_path, bad_options):
    dest = tmp_path / "checkpoint"
    with pytest.raises(ValueError):
        build_tiny_checkpoint(dest, **bad_options)
    assert not dest.exists()


def test_build_refuses_a_folder_that_already_holds_files(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="empty"):
        build_tiny_checkpoint(tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


# --- safetensors -----------------------------------------------------------------------------


def test_safetensors_file_has_the_standard_layout(tmp_path):
    path = tmp_path / "weights.safetensors"
    tensors = {"b": np.ones((2, 3), np.float32), "a": np.arange(5, dtype=np.float32)}
    write_safetensors(path, tensors, "f16")
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    assert header_len % 8 == 0
    assert header["__metadata__"] == {"format": "pt"}
    assert header["a"] == {"dtype": "F16", "shape": [5], "data_offsets": [0, 10]}
    assert header["b"] == {"dtype": "F16", "shape": [2, 3], "data_offsets": [10, 22]}
    assert len(raw) == 8 + header_len + 22


@pytest.mark.parametrize("dtype", ["bf16", "f16", "f32"])
def test_safetensors_round_trip_keeps_values_representable_in_the_dtype(tmp_path, dtype):
    values = np.array([[0.0, -1.5, 0.25], [1024.0, -0.0078125, 3.0]], dtype=np.float32)
    write_safetensors(tmp_path / "w.safetensors", {"w": values}, dtype)
    np.testing.assert_array_equal(read_safetensors(tmp_path / "w.safetensors")["w"], values)


def test_bf16_rounds_to_nearest_even():
    one_ulp = 2.0**-7  # bf16 spacing just above 1.0
    values = np.array(
        [1 + one_ulp / 2, 1 + 3 * one_ulp / 2, 1 + one_ulp * 0.51, -(1 + one_ulp / 2)], np.float32
    )
    expected = np.array([1.0, 1 + 2 * one_ulp, 1 + one_ulp, -1.0], np.float32)
    expected_bits = (expected.view(np.uint32) >> 16).astype(np.uint16)
    np.testing.assert_array_equal(to_bf16_bits(values), expected_bits)


def test_write_safetensors_rejects_an_unknown_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_safetensors(tmp_path / "w.safetensors", {"w": np.zeros(2)}, "int8")
    assert not (tmp_path / "w.safetensors").exists()


# --- tokenizer ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(tiny_checkpoint) -> Tokenizer:
    return Tokenizer.from_file(str(tiny_checkpoint / "tokenizer.json"))


def test_tokenizer_round_trips_bilingual_text(tokenizer):
    ids = tokenizer.encode(BILINGUAL_TEXT).ids
    assert tokenizer.decode(ids, skip_special_tokens=False) == BILINGUAL_TEXT


def test_tokenizer_has_learned_merges_for_finance_words(tokenizer):
    assert len(tokenizer.encode(" risk").ids) == 1
    assert len(tokenizer.encode("风险").ids) < len("风险".encode())


@pytest.mark.parametrize("added", ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>"])
def test_added_tokens_encode_as_one_token_each(tokenizer, added):
    ids = tokenizer.encode(f"你好{added}hello").ids
    assert tokenizer.token_to_id(added) in ids
    assert tokenizer.decode(ids, skip_special_tokens=False) == f"你好{added}hello"


def test_added_tokens_follow_the_bpe_vocab_with_qwens_special_flags(tiny_checkpoint):
    tokenizer_json = read_json(tiny_checkpoint / "tokenizer.json")
    bpe_size = len(tokenizer_json["model"]["vocab"])
    added = [(t["id"], t["content"], t["special"]) for t in tokenizer_json["added_tokens"]]
    assert added == [
        (bpe_size, "<|endoftext|>", True),
        (bpe_size + 1, "<|im_start|>", True),
        (bpe_size + 2, "<|im_end|>", True),
        (bpe_size + 3, "<tool_call>", False),
        (bpe_size + 4, "</tool_call>", False),
    ]


def test_tokenizer_is_byte_level_with_all_256_bytes_and_qwen2_pre_tokenizer(tiny_checkpoint):
    tokenizer_json = read_json(tiny_checkpoint / "tokenizer.json")
    vocab = tokenizer_json["model"]["vocab"]
    first_256 = {token for token, token_id in vocab.items() if token_id < 256}
    assert first_256 == set(ByteLevel.alphabet())
    assert tokenizer_json["normalizer"] == {"type": "NFC"}
    split, byte_level = tokenizer_json["pre_tokenizer"]["pretokenizers"]
    assert split["pattern"]["Regex"].startswith("(?i:'s|'t|'re|'ve|'m|'ll|'d)")
    assert split["behavior"] == "Isolated"
    assert byte_level == {
        "type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False
    }
    assert tokenizer_json["decoder"]["type"] == "ByteLevel"


def test_tokenizer_normalizes_to_nfc(tokenizer):
    assert tokenizer.encode("cafe\u0301").ids == tokenizer.encode("café").ids


def test_tokenizer_config_and_generation_config_match_qwen25(tiny_checkpoint, tokenizer):
    tokenizer_config = read_json(tiny_checkpoint / "tokenizer_config.json")
    assert tokenizer_config["add_bos_token"] is False
    assert tokenizer_config["bos_token"] is None
    assert (tokenizer_config["eos_token"], tokenizer_config["pad_token"]) == (
        "<|im_end|>", "<|endoftext|>"
    )
    decoder = tokenizer_config["added_tokens_decoder"]
    assert decoder[str(tokenizer.token_to_id("<|im_end|>"))]["special"] is True
    assert decoder[str(tokenizer.token_to_id("<tool_call>"))]["special"] is False

    config = read_json(tiny_checkpoint / "config.json")
    generation = read_json(tiny_checkpoint / "generation_config.json")
    im_end, endoftext = tokenizer.token_to_id("<|im_end|>"), tokenizer.token_to_id("<|endoftext|>")
    assert (config["bos_token_id"], config["eos_token_id"]) == (endoftext, im_end)
    assert generation["eos_token_id"] == [im_end, endoftext]
    assert (generation["temperature"], generation["top_p"], generation["top_k"]) == (0.7, 0.8, 20)
    assert generation["repetition_penalty"] == 1.05


def render_chat(checkpoint: Path, messages: list[dict], add_generation_prompt: bool) -> str:
    """Renders the chat template the way transformers does (sandboxed Jinja, trimmed blocks)."""
    template = read_json(checkpoint / "tokenizer_config.json")["chat_template"]
    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(template).render(
        messages=messages, add_generation_prompt=add_generation_prompt
    )


def test_chat_template_renders_chatml_with_the_default_system_prompt(tiny_checkpoint):
    rendered = render_chat(tiny_checkpoint, [{"role": "user", "content": "年化收益率？"}], True)
    assert rendered == (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
        "<|im_end|>\n<|im_start|>user\n年化收益率？<|im_end|>\n<|im_start|>assistant\n"
    )


def test_chat_template_uses_the_given_system_prompt_and_closes_assistant_turns(tiny_checkpoint):
    messages = [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "A"},
    ]
    assert render_chat(tiny_checkpoint, messages, False) == (
        "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
        "<|im_start|>assistant\nA<|im_end|>\n"
    )


# --- numpy reference ------------------------------------------------------------------------


def test_reference_gives_float64_logits_for_every_position_and_vocab_entry(tiny_checkpoint):
    vocab_size = read_json(tiny_checkpoint / "config.json")["vocab_size"]
    logits = reference_logits(tiny_checkpoint, [3, 14, 15, 92])
    assert logits.shape == (4, vocab_size)
    assert logits.dtype == np.float64


def test_reference_logits_are_spread_and_depend_on_the_input(tiny_checkpoint):
    logits = reference_logits(tiny_checkpoint, [5, 300, 17, 600])
    assert logits.std(axis=-1).min() > 0.3
    assert len(set(logits.argmax(axis=-1))) > 1


def test_reference_is_causal(tiny_checkpoint):
    prefix = [11, 250, 700, 42]
    first = reference_logits(tiny_checkpoint, [*prefix, 100, 101])
    second = reference_logits(tiny_checkpoint, [*prefix, 500, 9])
    np.testing.assert_array_equal(first[: len(prefix)], second[: len(prefix)])
    assert np.abs(first[len(prefix) :] - second[len(prefix) :]).max() > 0.1


def test_reference_later_positions_see_earlier_tokens(tiny_checkpoint):
    first = reference_logits(tiny_checkpoint, [11, 250, 700])
    second = reference_logits(tiny_checkpoint, [12, 250, 700])
    assert np.abs(first[2] - second[2]).max() > 0.01


def test_tied_reference_reads_the_embeddings_as_output_matrix(tiny_checkpoint_factory, tmp_path):
    tied = tiny_checkpoint_factory(tie_word_embeddings=True, dtype="f32")
    untied_copy = tmp_path / "untied"
    shutil.copytree(tied, untied_copy)
    tensors = load_checkpoint_tensors(tied)
    tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"]
    write_safetensors(untied_copy / "model.safetensors", tensors, "f32")
    config = read_json(untied_copy / "config.json") | {"tie_word_embeddings": False}
    (untied_copy / "config.json").write_text(json.dumps(config), encoding="utf-8")

    token_ids = [7, 77, 777]
    np.testing.assert_array_equal(
        reference_logits(tied, token_ids), reference_logits(untied_copy, token_ids)
    )


def test_untied_reference_reads_lm_head(tiny_checkpoint_factory):
    # Same seed: every tensor but lm_head is shared between the two checkpoints.
    untied = tiny_checkpoint_factory(tie_word_embeddings=False)
    tied = tiny_checkpoint_factory(tie_word_embeddings=True)
    token_ids = [7, 77, 777]
    difference = reference_logits(untied, token_ids) - reference_logits(tied, token_ids)
    assert np.abs(difference).max() > 0.1


def test_reference_is_the_same_for_sharded_and_single_file_checkpoints(tiny_checkpoint_factory):
    token_ids = [1, 2, 3]
    np.testing.assert_array_equal(
        reference_logits(tiny_checkpoint_factory(shards=1), token_ids),
        reference_logits(tiny_checkpoint_factory(shards=5), token_ids),
    )


@pytest.mark.parametrize("token_ids", [[], [0, -1], [0, 10**6]])
def test_reference_rejects_empty_or_out_of_range_token_ids(tiny_checkpoint, token_ids):
    with pytest.raises(ValueError):
        reference_logits(tiny_checkpoint, token_ids)
