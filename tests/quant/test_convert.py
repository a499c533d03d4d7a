"""The converter: a Hugging Face checkpoint becomes a GGUF that llama.cpp runs like the original."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import gguf
import llama_cpp
import numpy as np
import pytest
from tokenizers import Tokenizer

from app.cli import main as cli_main
from foundation.errors import DiskFullError
from foundation.jobs import CancelToken, JobCancelled
from quant.convert import convert_checkpoint
from quant.errors import (
    ConfigMismatchError,
    F16OverflowError,
    MissingFileError,
    SafetensorsError,
    TokenizerError,
    UnsupportedArchitectureError,
)
from quant.formats import CONVERT_OUTTYPES, quant_type
from quant.gguf_fast_writer import FastArrayGGUFWriter
from tests.support.llm_support import THREADS, end_tokens, open_llama
from tests.support.numpy_reference import reference_logits
from tests.support.tiny_checkpoint import load_checkpoint_tensors, to_bf16_bits, write_safetensors

PROMPT_TEXTS = [
    "The Sharpe ratio of the portfolio is 0.51.",
    "请判断下列描述是否符合金融与信息合规性。",
    "Loan: 100,000 yuan, 5 years, 6% annual interest → monthly 1,933.28?\n\n  indent\ttab",
    "ESG 评分：E=72, S=65, G=80 (满分 100)。",
]


def read_gguf(path: Path) -> gguf.GGUFReader:
    return gguf.GGUFReader(path)


def field_value(reader: gguf.GGUFReader, key: str) -> object:
    return reader.get_field(key).contents()


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def llama_logits(gguf_path: Path, token_ids: list[int]) -> np.ndarray:
    model = open_llama(gguf_path, n_ctx=64, logits_all=True, verbose=False, seed=0,
                            n_threads=THREADS)
    model.eval(token_ids)
    return np.array(model.scores[: len(token_ids)], dtype=np.float64)


def prompt_ids(checkpoint: Path) -> list[int]:
    tokenizer = Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
    return tokenizer.encode("<|im_start|>user\n" + PROMPT_TEXTS[0]).ids[:24]


def copy_checkpoint(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "checkpoint"))


@pytest.mark.parametrize("outtype", CONVERT_OUTTYPES)
def test_each_outtype_has_the_tables_file_type_and_tensor_types(tiny_gguf_factory, outtype):
    reader = read_gguf(tiny_gguf_factory(outtype))
    row = quant_type(outtype)
    assert field_value(reader, "general.file_type") == row.llama_ftype
    matrix_types = {t.tensor_type.name for t in reader.tensors if len(t.shape) == 2}
    vector_types = {t.tensor_type.name for t in reader.tensors if len(t.shape) == 1}
    assert matrix_types == {row.main_tensor_type}
    assert vector_types == {"F32"}


@pytest.mark.parametrize("outtype", CONVERT_OUTTYPES)
def test_llama_cpp_loads_each_outtype_and_generates(tiny_gguf_factory, outtype):
    gguf_path = tiny_gguf_factory(outtype)
    model = open_llama(gguf_path, n_ctx=64, verbose=False, seed=1, n_threads=THREADS)
    # random weights: whether the first token ends the reply depends on the CPU; forbid ending
    never_end = {token: float("-inf") for token in end_tokens(gguf_path)}
    completion = model.create_completion("Risk grade:", max_tokens=8, temperature=0.0,
                                         logit_bias=never_end)
    assert completion["usage"]["completion_tokens"] == 8


def test_f32_logits_match_the_independent_numpy_forward_pass(tiny_checkpoint, tiny_gguf_factory):
    token_ids = prompt_ids(tiny_checkpoint)
    expected = reference_logits(tiny_checkpoint, token_ids)
    actual = llama_logits(tiny_gguf_factory("f32"), token_ids)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=2e-3, rtol=0)
    assert (actual.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_tied_embeddings_write_no_output_tensor_and_still_match(tiny_checkpoint_factory,
                                                                tiny_gguf_factory):
    checkpoint = tiny_checkpoint_factory(tie_word_embeddings=True)
    gguf_path = tiny_gguf_factory("f32", tie_word_embeddings=True)
    names = {tensor.name for tensor in read_gguf(gguf_path).tensors}
    assert "output.weight" not in names and "token_embd.weight" in names
    token_ids = prompt_ids(checkpoint)
    np.testing.assert_allclose(llama_logits(gguf_path, token_ids),
                               reference_logits(checkpoint, token_ids), atol=2e-3, rtol=0)


def test_llama_architecture_shares_the_path_and_matches(tiny_checkpoint_factory,
                                                        tiny_gguf_factory):
    checkpoint = tiny_checkpoint_factory(architecture="LlamaForCausalLM")
    gguf_path = tiny_gguf_factory("f32", architecture="LlamaForCausalLM")
    assert field_value(read_gguf(gguf_path), "general.architecture") == "llama"
    token_ids = prompt_ids(checkpoint)
    np.testing.assert_allclose(llama_logits(gguf_path, token_ids),
                               reference_logits(checkpoint, token_ids), atol=2e-3, rtol=0)


def test_bf16_output_copies_the_checkpoints_bits(tiny_checkpoint, tiny_bf16_gguf):
    source = load_checkpoint_tensors(tiny_checkpoint)
    by_name = {tensor.name: tensor for tensor in read_gguf(tiny_bf16_gguf).tensors}
    for hf_name, gguf_name in [("model.embed_tokens.weight", "token_embd.weight"),
                               ("model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight"),
                               ("lm_head.weight", "output.weight")]:
        expected_bits = to_bf16_bits(source[hf_name])
        written_bits = np.asarray(by_name[gguf_name].data).view(np.uint16).reshape(
            expected_bits.shape)
        assert np.array_equal(written_bits, expected_bits), gguf_name


@pytest.mark.parametrize("source_dtype", ["f16", "f32"])
def test_f16_and_f32_checkpoints_convert_to_the_same_model(tiny_checkpoint_factory, source_dtype,
                                                           tmp_path):
    checkpoint = tiny_checkpoint_factory(dtype=source_dtype)
    output = convert_checkpoint(checkpoint, tmp_path / "model.gguf", "f32")
    token_ids = prompt_ids(checkpoint)
    np.testing.assert_allclose(llama_logits(output, token_ids),
                               reference_logits(checkpoint, token_ids), atol=2e-3, rtol=0)


def test_sharded_checkpoint_converts_to_the_same_bytes_as_one_file(tiny_checkpoint_factory,
                                                                   tiny_bf16_gguf, tmp_path):
    sharded = tiny_checkpoint_factory(shards=3)
    assert (sharded / "model.safetensors.index.json").is_file()
    output = convert_checkpoint(sharded, tmp_path / "sharded.gguf", "bf16")
    assert output.read_bytes() == tiny_bf16_gguf.read_bytes()


def test_tiny_chunks_stream_to_identical_output(tiny_checkpoint, tmp_path):
    whole = convert_checkpoint(tiny_checkpoint, tmp_path / "whole.gguf", "q8_0")
    chunked = convert_checkpoint(tiny_checkpoint, tmp_path / "chunked.gguf", "q8_0",
                                 chunk_bytes=1024)
    assert chunked.read_bytes() == whole.read_bytes()


def test_metadata_has_every_key_llama_cpp_writes_for_qwen2(tiny_checkpoint, tiny_bf16_gguf):
    reader = read_gguf(tiny_bf16_gguf)
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    expected = {
        "general.architecture": "qwen2",
        "general.type": "model",
        "general.file_type": 32,
        "general.quantization_version": gguf.GGML_QUANT_VERSION,
        "qwen2.block_count": config["num_hidden_layers"],
        "qwen2.context_length": config["max_position_embeddings"],
        "qwen2.embedding_length": config["hidden_size"],
        "qwen2.feed_forward_length": config["intermediate_size"],
        "qwen2.attention.head_count": config["num_attention_heads"],
        "qwen2.attention.head_count_kv": config["num_key_value_heads"],
        "qwen2.rope.freq_base": config["rope_theta"],
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "qwen2",
        "tokenizer.ggml.add_bos_token": False,
    }
    for key, value in expected.items():
        assert field_value(reader, key) == pytest.approx(value), key
    assert field_value(reader, "qwen2.attention.layer_norm_rms_epsilon") == pytest.approx(1e-6)
    for key in ("general.name", "general.size_label", "tokenizer.chat_template",
                "tokenizer.ggml.merges"):
        assert reader.get_field(key) is not None, key


def test_tokenizer_metadata_pads_to_vocab_size_with_typed_tokens(tiny_checkpoint, tiny_bf16_gguf):
    reader = read_gguf(tiny_bf16_gguf)
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    tokenizer = json.loads((tiny_checkpoint / "tokenizer.json").read_text())
    tokens = field_value(reader, "tokenizer.ggml.tokens")
    types = field_value(reader, "tokenizer.ggml.token_type")
    assert len(tokens) == len(types) == config["vocab_size"]
    added = {entry["content"]: entry for entry in tokenizer["added_tokens"]}
    ids = {token: index for index, token in enumerate(tokens)}
    assert types[ids["<|im_start|>"]] == gguf.TokenType.CONTROL
    assert types[ids["<tool_call>"]] == gguf.TokenType.USER_DEFINED
    assert added["<tool_call>"]["special"] is False
    assert types[-1] == gguf.TokenType.UNUSED and tokens[-1] == f"[PAD{len(tokens) - 1}]"
    assert field_value(reader, "tokenizer.ggml.eos_token_id") == ids["<|im_end|>"]
    assert field_value(reader, "tokenizer.ggml.padding_token_id") == ids["<|endoftext|>"]
    tokenizer_config = json.loads((tiny_checkpoint / "tokenizer_config.json").read_text())
    assert field_value(reader, "tokenizer.chat_template") == tokenizer_config["chat_template"]


@pytest.mark.parametrize("text", [*PROMPT_TEXTS, "<|im_start|>system\nYou are Fin-R1.<|im_end|>"])
def test_llama_cpp_tokenizes_like_the_original_tokenizer(tiny_checkpoint, tiny_bf16_gguf, text):
    original = Tokenizer.from_file(str(tiny_checkpoint / "tokenizer.json"))
    model = llama_cpp.Llama(str(tiny_bf16_gguf), vocab_only=True, verbose=False)
    assert model.tokenize(text.encode(), add_bos=False, special=True) == original.encode(text).ids
    assert model.detokenize(original.encode(text).ids, special=True).decode() == text


def test_cli_converts_and_prints_the_output(tiny_checkpoint, tmp_path, capsys):
    output = tmp_path / "cli.gguf"
    assert cli_main(["convert", str(tiny_checkpoint), "-o", str(output), "--outtype",
                     "q8_0"]) == 0
    assert capsys.readouterr().out.strip() == str(output)
    assert field_value(read_gguf(output), "general.file_type") == 7


# Bad input: a specific error, and nothing left in the output folder.

def assert_fails_cleanly(checkpoint: Path, tmp_path: Path, error_type: type, *message_parts: str,
                         outtype: str = "bf16") -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    with pytest.raises(error_type) as raised:
        convert_checkpoint(checkpoint, out_dir / "model.gguf", outtype)
    for part in message_parts:
        assert part in str(raised.value)
    assert files_in(out_dir) == []


@pytest.mark.parametrize("missing_file", ["config.json", "tokenizer.json", "tokenizer_config.json",
                                          "model.safetensors"])
def test_missing_file_is_named(tiny_checkpoint, tmp_path, missing_file):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    (checkpoint / missing_file).unlink()
    assert_fails_cleanly(checkpoint, tmp_path, MissingFileError, missing_file)


def test_missing_shard_is_named(tiny_checkpoint_factory, tmp_path):
    checkpoint = copy_checkpoint(tiny_checkpoint_factory(shards=3), tmp_path)
    (checkpoint / "model-00002-of-00003.safetensors").unlink()
    assert_fails_cleanly(checkpoint, tmp_path, MissingFileError, "model-00002-of-00003")


def test_unsupported_architecture_is_named(tiny_checkpoint, tmp_path):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    config = json.loads((checkpoint / "config.json").read_text())
    config["architectures"] = ["MixtralForCausalLM"]
    (checkpoint / "config.json").write_text(json.dumps(config))
    assert_fails_cleanly(checkpoint, tmp_path, UnsupportedArchitectureError,
                         "MixtralForCausalLM", "Qwen2ForCausalLM")


def test_config_shape_mismatch_names_the_tensor(tiny_checkpoint, tmp_path):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    config = json.loads((checkpoint / "config.json").read_text())
    config["intermediate_size"] = 1024
    (checkpoint / "config.json").write_text(json.dumps(config))
    assert_fails_cleanly(checkpoint, tmp_path, ConfigMismatchError, "mlp.gate_proj.weight",
                         "[1024, 256]")


def test_missing_tensor_is_named(tiny_checkpoint, tmp_path):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    tensors = load_checkpoint_tensors(checkpoint)
    del tensors["model.layers.1.self_attn.k_proj.bias"]
    write_safetensors(checkpoint / "model.safetensors", tensors, "bf16")
    assert_fails_cleanly(checkpoint, tmp_path, ConfigMismatchError,
                         "model.layers.1.self_attn.k_proj.bias")


@pytest.mark.parametrize("keep_fraction", [0.0001, 0.5, 0.999])
def test_truncated_safetensors_is_reported(tiny_checkpoint, tmp_path, keep_fraction):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    weights = checkpoint / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: max(4, int(len(data) * keep_fraction))])
    assert_fails_cleanly(checkpoint, tmp_path, SafetensorsError, "model.safetensors")


def rewrite_safetensors_header(weights: Path, change) -> None:
    """Replace the JSON header of ``weights`` by ``change(header)``, keeping the data bytes."""
    blob = weights.read_bytes()
    header_length = int.from_bytes(blob[:8], "little")
    header_bytes = change(json.loads(blob[8 : 8 + header_length]))
    if not isinstance(header_bytes, bytes):
        header_bytes = json.dumps(header_bytes).encode()
    weights.write_bytes(len(header_bytes).to_bytes(8, "little") + header_bytes
                        + blob[8 + header_length :])


def change_tensor_entry(**entry):
    """A header change that updates the entry of the tensor named first."""
    def change(header: dict) -> dict:
        first = next(name for name in header if name != "__metadata__")
        header[first].update(entry)
        return header
    return change


# Headers gguf's SafetensorsLocal accepts silently or fails on without naming the file (issue 14).
@pytest.mark.parametrize(("change", "message"), [
    (change_tensor_entry(shape=[3, 3]), "data range"),
    (change_tensor_entry(shape=[-1, 4]), "data range"),
    (change_tensor_entry(dtype="I64"), "only BF16, F16 and F32"),
    (change_tensor_entry(data_offsets=[0, 1 << 40]), "data range"),
    (lambda header: [1, 2], "not a JSON object"),
    (lambda header: {"w": {"shape": [1], "data_offsets": [0, 2]}}, "malformed header entry"),
    (lambda header: b"\xff" * 16, "not valid JSON"),
], ids=["range-disagrees-with-shape", "negative-dimension", "integer-dtype", "offsets-past-end",
        "header-is-a-list", "entry-without-dtype", "header-not-utf8"])
def test_malformed_safetensors_header_is_reported(tiny_checkpoint, tmp_path, change, message):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    rewrite_safetensors_header(checkpoint / "model.safetensors", change)
    assert_fails_cleanly(checkpoint, tmp_path, SafetensorsError, "model.safetensors", message)


def test_sentencepiece_style_tokenizer_is_refused(tiny_checkpoint, tmp_path):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    tokenizer = json.loads((checkpoint / "tokenizer.json").read_text())
    tokenizer["model"]["type"] = "Unigram"
    (checkpoint / "tokenizer.json").write_text(json.dumps(tokenizer))
    assert_fails_cleanly(checkpoint, tmp_path, TokenizerError, "Unigram")


def test_f16_overflow_is_refused_naming_the_tensor(tiny_checkpoint, tmp_path):
    checkpoint = copy_checkpoint(tiny_checkpoint, tmp_path)
    tensors = load_checkpoint_tensors(checkpoint)
    tensors["model.layers.0.mlp.up_proj.weight"][3, 7] = 70000.0
    write_safetensors(checkpoint / "model.safetensors", tensors, "bf16")
    assert_fails_cleanly(checkpoint, tmp_path, F16OverflowError,
                         "model.layers.0.mlp.up_proj.weight", outtype="f16")
    convert_checkpoint(checkpoint, tmp_path / "fine.gguf", "bf16")  # bf16 holds it


def test_cancel_leaves_nothing(tiny_checkpoint, tmp_path):
    cancel = CancelToken()
    seen = []

    def cancel_after_first_report(progress):
        seen.append(progress)
        cancel.cancel()

    with pytest.raises(JobCancelled):
        convert_checkpoint(tiny_checkpoint, tmp_path / "model.gguf", "bf16",
                           on_progress=cancel_after_first_report, cancel=cancel)
    assert len(seen) == 1
    assert files_in(tmp_path) == []


def test_progress_counts_output_bytes_up_to_the_total(tiny_checkpoint, tmp_path):
    reports = []
    output = convert_checkpoint(tiny_checkpoint, tmp_path / "model.gguf", "bf16",
                                on_progress=reports.append)
    assert [report.done for report in reports] == sorted(report.done for report in reports)
    assert reports[-1].done == reports[-1].total
    assert reports[-1].total < output.stat().st_size < reports[-1].total + 1_000_000


def test_too_little_free_space_is_refused_before_writing(tiny_checkpoint, small_filesystem):
    out_dir = small_filesystem(256 * 1024)
    with pytest.raises(DiskFullError, match="free"):
        convert_checkpoint(tiny_checkpoint, out_dir / "model.gguf", "bf16")
    assert files_in(out_dir) == []


def test_disk_filling_up_mid_write_leaves_nothing(tiny_checkpoint, tiny_bf16_gguf,
                                                  small_filesystem):
    out_dir = small_filesystem(tiny_bf16_gguf.stat().st_size + 256 * 1024)
    filler = out_dir / "other-download.bin"

    def another_program_fills_the_disk(progress):
        if not filler.exists():
            with open(filler, "wb", buffering=0) as handle, contextlib.suppress(OSError):
                handle.write(b"\0" * (4 * 1024 * 1024))  # fails once the disk is full, as intended

    with pytest.raises(DiskFullError, match="full"):
        convert_checkpoint(tiny_checkpoint, out_dir / "model.gguf", "bf16",
                           on_progress=another_program_fills_the_disk, chunk_bytes=16 * 1024)
    assert files_in(out_dir) == ["other-download.bin"]


def test_cli_reports_errors_in_one_line(tmp_path, capsys):
    assert cli_main(["convert", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.gguf")]) == 2
    assert "finr1: error:" in capsys.readouterr().err


def test_fast_array_writer_writes_the_same_bytes_as_gguf_py(tiny_bf16_gguf, tmp_path):
    reader = read_gguf(tiny_bf16_gguf)
    arrays = {
        "tokenizer.ggml.tokens": field_value(reader, "tokenizer.ggml.tokens") * 2,
        "tokenizer.ggml.token_type": [gguf.TokenType(t) for t in
                                      field_value(reader, "tokenizer.ggml.token_type")] * 2,
        "test.mixed_ints": list(range(-1500, 1500)),
        "test.short": ["a", "é", "金融"],
    }
    outputs = []
    for writer_class in (gguf.GGUFWriter, FastArrayGGUFWriter):
        path = tmp_path / f"{writer_class.__name__}.gguf"
        writer = writer_class(path, "qwen2")
        for key, values in arrays.items():
            writer.add_array(key, values)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.close()
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
