"""The quantizer: bf16 GGUF → every type of the quant table, through libllama in a child process.

Runs the real llama.cpp on the tiny Qwen2 model (2 layers, hidden 256): each type is built once
per module and checked for its file type, its tensor types, and that llama.cpp loads and runs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
import pytest

from app.cli import main as cli_main
from app.core.templates.template_child import CHILD_MODULE as TEMPLATE_CHILD
from foundation.errors import DiskFullError, OutputPathError
from foundation.jobs import CancelToken, JobCancelled, Progress
from quant.errors import (
    AlreadyQuantizedError,
    GGUFValidationError,
    ImatrixError,
    ImatrixRequiredError,
    QuantizeError,
)
from quant.formats import QUANTIZE_TYPES, ImatrixNeed, quant_type
from quant.gguf_check import validate_gguf
from quant.quantize import (
    IMATRIX_CHUNKS_KEY,
    IMATRIX_DATASET_KEY,
    IMATRIX_ENTRIES_KEY,
    IMATRIX_FILE_KEY,
    quantize_gguf,
)
from quant.quantize_child import QuantizeRequest
from quant.quantize_runner import _CHILD_GONE, _ChildReader, _stop, run_quantize_child
from tests.support.cancel_at import cancel_at
from tests.support.llm_support import THREADS, open_llama

IMATRIX_CHUNKS = 7
IMATRIX_DATASET = "finance-calibration.txt"


def write_imatrix(path: Path, columns: dict[str, int], seed: int = 0) -> Path:
    """An importance matrix in llama.cpp's GGUF layout with random positive sums for ``columns``
    (weight name → input columns), as ``llama-imatrix`` would write it."""
    rng = np.random.default_rng(seed)
    tokens = 512 * IMATRIX_CHUNKS
    writer = gguf.GGUFWriter(path, arch="imatrix")
    writer.add_type("imatrix")
    writer.add_array("imatrix.datasets", [IMATRIX_DATASET])
    writer.add_uint32("imatrix.chunk_count", IMATRIX_CHUNKS)
    writer.add_uint32("imatrix.chunk_size", 512)
    for name, column_count in sorted(columns.items()):
        sums = rng.uniform(0.05, 4.0, size=(1, column_count)).astype(np.float32) * tokens
        writer.add_tensor(f"{name}.in_sum2", sums)
        writer.add_tensor(f"{name}.counts", np.full((1, 1), tokens, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def matmul_weight_columns(model_path: Path) -> dict[str, int]:
    """Input columns of every weight a matrix multiplication reads (what an imatrix covers)."""
    return {
        tensor.name: tensor.shape[0]
        for tensor in validate_gguf(model_path).tensors
        if len(tensor.shape) == 2 and tensor.name != "token_embd.weight"
    }


def tensor_types(model_path: Path) -> dict[str, str]:
    return {tensor.name: tensor.ggml_type for tensor in validate_gguf(model_path).tensors}


def child_pids() -> list[int]:
    """Processes whose parent is this test process (Linux /proc), except the chat-template
    sandbox, which lives as long as the process once any test loaded a model's template."""
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            command = (stat_file.parent / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == os.getpid() and TEMPLATE_CHILD.encode() not in command:
            children.append(int(stat_file.parent.name))
    return children


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


@pytest.fixture(scope="module")
def tiny_imatrix(tiny_bf16_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_imatrix(tmp_path_factory.mktemp("imatrix") / "tiny.imatrix.gguf",
                         matmul_weight_columns(tiny_bf16_gguf))


@dataclass(frozen=True)
class Quantized:
    type_name: str
    path: Path
    progress: list[Progress]


@pytest.fixture(scope="module", params=QUANTIZE_TYPES)
def quantized(request: pytest.FixtureRequest, tiny_bf16_gguf: Path, tiny_imatrix: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Quantized:
    """The tiny model quantized to one table type; only the type that requires one gets the
    importance matrix, so the others also cover the plain path."""
    type_name = request.param
    needs_imatrix = quant_type(type_name).imatrix is ImatrixNeed.REQUIRED
    progress: list[Progress] = []
    output = quantize_gguf(
        tiny_bf16_gguf, tmp_path_factory.mktemp(type_name) / f"tiny-{type_name}.gguf", type_name,
        imatrix_path=tiny_imatrix if needs_imatrix else None, threads=2,
        on_progress=progress.append,
    )
    return Quantized(type_name, output, progress)


@pytest.fixture
def source_copy(tiny_bf16_gguf: Path, tmp_path: Path) -> Path:
    """A private copy of the bf16 model that a test may damage."""
    return Path(shutil.copy(tiny_bf16_gguf, tmp_path / "source.gguf"))


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def no_child_left() -> Iterator[None]:
    yield
    if Path("/proc/self/stat").exists():
        assert child_pids() == []


# --- what a successful run produces, for every type of the table -------------------------------

def test_output_file_type_is_the_tables_llama_ftype(quantized: Quantized) -> None:
    assert validate_gguf(quantized.path).file_type == quant_type(quantized.type_name).llama_ftype


def test_attention_query_weights_get_the_tables_main_tensor_type(quantized: Quantized) -> None:
    # attn_q is the one matrix every type's mix leaves at the type's main tensor type
    types = tensor_types(quantized.path)
    expected = quant_type(quantized.type_name).main_tensor_type
    assert {types["blk.0.attn_q.weight"], types["blk.1.attn_q.weight"]} == {expected}


def test_every_tensor_of_the_input_is_in_the_output(quantized: Quantized,
                                                    tiny_bf16_gguf: Path) -> None:
    assert tensor_types(quantized.path).keys() == tensor_types(tiny_bf16_gguf).keys()


def test_output_and_embeddings_get_the_tables_types(quantized: Quantized) -> None:
    # the tiny model is shaped like Fin-R1 where it matters: separate matrices, 256-wide rows
    row = quant_type(quantized.type_name)
    types = tensor_types(quantized.path)
    assert (types["output.weight"], types["token_embd.weight"]) == (
        row.output_tensor_type, row.embedding_tensor_type)


def test_llama_cpp_loads_the_output_and_generates(quantized: Quantized) -> None:
    assert_loads_and_generates(quantized.path)


def assert_loads_and_generates(path: Path) -> None:
    """llama.cpp loads the model at ``path``, its logits are finite and it generates 4 tokens."""
    # logits_all: without it llama-cpp-python leaves `scores` as uninitialised memory
    model = open_llama(path, n_ctx=64, n_threads=THREADS, logits_all=True,
                            verbose=False)
    try:
        prompt = model.tokenize(b"The bank's net interest margin")
        model.eval(prompt)
        assert np.isfinite(model.scores[model.n_tokens - 1]).all()
        generated = []
        for token in model.generate(prompt, temp=0.0, reset=True):
            generated.append(token)
            if len(generated) == 4:
                break
        assert len(generated) == 4
        assert all(0 <= token < model.n_vocab() for token in generated)
    finally:
        model.close()


def test_progress_counts_every_tensor_in_order_and_ends_complete(quantized: Quantized,
                                                                 tiny_bf16_gguf: Path) -> None:
    tensor_count = validate_gguf(tiny_bf16_gguf).tensor_count
    progress = quantized.progress
    assert {(event.stage, event.unit, event.total) for event in progress} == {
        ("quantize", "tensors", tensor_count)
    }
    done = [event.done for event in progress]
    assert done[0] == 0
    assert done == sorted(done)
    assert set(done) == set(range(tensor_count + 1))
    assert (progress[-1].done, progress[-1].total) == (tensor_count, tensor_count)


def test_progress_names_each_tensor_being_quantized(quantized: Quantized,
                                                    tiny_bf16_gguf: Path) -> None:
    named = {event.message for event in quantized.progress[1:]}
    assert named == set(tensor_types(tiny_bf16_gguf))


def test_nothing_but_the_output_is_left_in_its_folder(quantized: Quantized) -> None:
    assert list(quantized.path.parent.iterdir()) == [quantized.path]


# --- output and embeddings kept at another type (llama-quantize's --output-tensor-type …) --------

MIXES = [  # (quant type, output type, embedding type): Mungert's bf16-q8_0 and q4_k, and a split
    ("q8_0", "bf16", "bf16"),
    ("q4_k", "q8_0", "q8_0"),
    ("q4_k_s", "f16", "q6_k"),
]


@pytest.fixture(scope="module", params=MIXES, ids=["-".join(mix) for mix in MIXES])
def mixed(request: pytest.FixtureRequest, tiny_bf16_gguf: Path,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str, Path]:
    type_name, output_type, embedding_type = request.param
    output = quantize_gguf(tiny_bf16_gguf, tmp_path_factory.mktemp("mix") / "tiny-mix.gguf",
                           type_name, output_type=output_type, embedding_type=embedding_type,
                           threads=2)
    return type_name, output_type, embedding_type, output


def test_a_mix_keeps_output_and_embeddings_at_the_types_asked_for(
        mixed: tuple[str, str, str, Path]) -> None:
    type_name, output_type, embedding_type, path = mixed
    reader = gguf.GGUFReader(path)
    read_back = {tensor.name: tensor.tensor_type.name for tensor in reader.tensors}
    assert read_back["output.weight"] == output_type.upper()
    assert read_back["token_embd.weight"] == embedding_type.upper()
    assert read_back["blk.0.attn_q.weight"] == quant_type(type_name).main_tensor_type
    assert validate_gguf(path).file_type == quant_type(type_name).llama_ftype


def test_a_mix_loads_and_generates(mixed: tuple[str, str, str, Path]) -> None:
    assert_loads_and_generates(mixed[3])


@pytest.mark.parametrize("option", ["output_type", "embedding_type"])
def test_an_unknown_output_or_embedding_type_is_refused_before_any_work(
        option: str, tiny_bf16_gguf: Path, out_dir: Path) -> None:
    progress: list[Progress] = []
    with pytest.raises(ValueError, match="bf16, f16, q8_0"):
        quantize_gguf(tiny_bf16_gguf, out_dir / "x.gguf", "q8_0", on_progress=progress.append,
                      **{option: "iq2_xxs"})
    assert progress == []
    assert list(out_dir.iterdir()) == []


def test_cli_makes_a_mix_with_llama_quantizes_option_names(
        tiny_bf16_gguf: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = out_dir / "tiny-q4_k.gguf"
    status = cli_main(["quantize", str(tiny_bf16_gguf), "-o", str(output), "--type", "q4_k",
                       "--output-type", "Q8_0", "--embedding-type", "bf16", "--threads", "1"])
    assert status == 0, capsys.readouterr().err
    info = validate_gguf(output)
    assert info.file_type_label == "Q4_K_M"  # q4_k is llama-quantize's alias of Q4_K_M
    types = tensor_types(output)
    assert (types["output.weight"], types["token_embd.weight"]) == ("Q8_0", "BF16")


# --- importance matrix --------------------------------------------------------------------------

def test_iq3_xs_records_which_importance_matrix_it_was_built_with(
        tiny_bf16_gguf: Path, tiny_imatrix: Path, out_dir: Path) -> None:
    output = quantize_gguf(tiny_bf16_gguf, out_dir / "iq3xs.gguf", "iq3_xs",
                           imatrix_path=tiny_imatrix)
    metadata = validate_gguf(output).metadata
    assert metadata[IMATRIX_FILE_KEY] == tiny_imatrix.name
    assert metadata[IMATRIX_DATASET_KEY] == IMATRIX_DATASET
    assert metadata[IMATRIX_ENTRIES_KEY] == len(matmul_weight_columns(tiny_bf16_gguf))
    assert metadata[IMATRIX_CHUNKS_KEY] == IMATRIX_CHUNKS


def test_the_importance_matrix_changes_how_weights_are_rounded(
        tiny_bf16_gguf: Path, tiny_imatrix: Path, out_dir: Path) -> None:
    plain = quantize_gguf(tiny_bf16_gguf, out_dir / "plain.gguf", "q4_k_m")
    weighted = quantize_gguf(tiny_bf16_gguf, out_dir / "weighted.gguf", "q4_k_m",
                             imatrix_path=tiny_imatrix)

    def attn_q_bytes(path: Path) -> bytes:
        reader = gguf.GGUFReader(path)
        return next(t for t in reader.tensors if t.name == "blk.0.attn_q.weight").data.tobytes()

    assert attn_q_bytes(plain) != attn_q_bytes(weighted)
    assert IMATRIX_FILE_KEY not in validate_gguf(plain).metadata


def test_iq3_xs_without_an_importance_matrix_is_refused_before_any_work(
        tiny_bf16_gguf: Path, out_dir: Path) -> None:
    progress: list[Progress] = []
    with pytest.raises(ImatrixRequiredError) as refused:
        quantize_gguf(tiny_bf16_gguf, out_dir / "iq3xs.gguf", "iq3_xs",
                      on_progress=progress.append)
    message = str(refused.value)
    assert "quality collapses" in message
    assert "finr1 imatrix" in message and "--imatrix" in message
    assert progress == []  # the child reports 0/N as soon as it starts
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("mismatch", ["other hidden size", "extra layer", "missing layer"])
def test_an_importance_matrix_for_another_model_is_refused(
        mismatch: str, tiny_bf16_gguf: Path, tmp_path: Path, out_dir: Path) -> None:
    columns = matmul_weight_columns(tiny_bf16_gguf)
    if mismatch == "other hidden size":
        columns = {name: count * 2 for name, count in columns.items()}
    elif mismatch == "extra layer":
        columns |= {name.replace("blk.1.", "blk.2."): count
                    for name, count in columns.items() if name.startswith("blk.1.")}
    else:
        columns = {name: count for name, count in columns.items() if not name.startswith("blk.1.")}
    imatrix = write_imatrix(tmp_path / "other.imatrix.gguf", columns)
    progress: list[Progress] = []
    with pytest.raises(ImatrixError, match="another model"):
        quantize_gguf(tiny_bf16_gguf, out_dir / "q4.gguf", "q4_k_m", imatrix_path=imatrix,
                      on_progress=progress.append)
    assert progress == []
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not a gguf at all", b"GGUF\x03\x00\x00\x00"])
def test_an_unreadable_importance_matrix_is_refused(content: bytes, tiny_bf16_gguf: Path,
                                                    tmp_path: Path, out_dir: Path) -> None:
    imatrix = tmp_path / "broken.imatrix.gguf"
    imatrix.write_bytes(content)
    with pytest.raises(ImatrixError, match="finr1 imatrix"):
        quantize_gguf(tiny_bf16_gguf, out_dir / "q4.gguf", "q4_k_m", imatrix_path=imatrix)
    assert list(out_dir.iterdir()) == []


def test_a_model_passed_as_importance_matrix_is_refused(tiny_bf16_gguf: Path,
                                                        out_dir: Path) -> None:
    with pytest.raises(ImatrixError, match="not an importance matrix"):
        quantize_gguf(tiny_bf16_gguf, out_dir / "q4.gguf", "q4_k_m", imatrix_path=tiny_bf16_gguf)


# --- inputs that are refused --------------------------------------------------------------------

def test_a_damaged_input_is_refused_with_the_validators_error(source_copy: Path,
                                                              out_dir: Path) -> None:
    os.truncate(source_copy, source_copy.stat().st_size // 2)
    with pytest.raises(GGUFValidationError, match="truncated"):
        quantize_gguf(source_copy, out_dir / "q8.gguf", "q8_0")
    assert list(out_dir.iterdir()) == []


def test_an_already_quantized_input_is_refused(tiny_gguf_factory: Callable[..., Path],
                                               out_dir: Path) -> None:
    progress: list[Progress] = []
    with pytest.raises(AlreadyQuantizedError, match=r"Q8_0.*bf16/f16/f32"):
        quantize_gguf(tiny_gguf_factory("q8_0"), out_dir / "q4.gguf", "q4_k_m",
                      on_progress=progress.append)
    assert progress == []
    assert list(out_dir.iterdir()) == []


def test_the_output_may_not_be_the_input(source_copy: Path) -> None:
    before = source_copy.read_bytes()
    with pytest.raises(QuantizeError, match="is the input"):
        quantize_gguf(source_copy, source_copy, "q8_0")
    assert source_copy.read_bytes() == before


@pytest.mark.parametrize("name", ["q5_k_m", "bf16"])
def test_types_the_quantizer_does_not_make_are_rejected(name: str, tiny_bf16_gguf: Path,
                                                        out_dir: Path) -> None:
    with pytest.raises(ValueError, match="q8_0"):
        quantize_gguf(tiny_bf16_gguf, out_dir / "x.gguf", name)


@pytest.mark.parametrize(("source_type", "target_type", "libllama_says"), [
    ("bf16", "iq3_xs", "requires an imatrix"),
    ("q8_0", "q4_k_m", "requantizing from type q8_0 is disabled"),
])
def test_libllama_itself_refuses_what_is_refused_up_front(
        source_type: str, target_type: str, libllama_says: str,
        tiny_gguf_factory: Callable[..., Path], tmp_path: Path) -> None:
    # the up-front refusals exist because libllama refuses these only once it has started
    source = tiny_gguf_factory(source_type)
    request = QuantizeRequest(
        input_path=str(source), output_path=str(tmp_path / "x.gguf"),
        llama_ftype=quant_type(target_type).llama_ftype, threads=1, imatrix=None, metadata=(),
    )
    with pytest.raises(QuantizeError, match=libllama_says):
        run_quantize_child(request, validate_gguf(source).tensor_count, lambda _: None, None)


# --- cancel, crash and failure leave nothing ----------------------------------------------------

@pytest.mark.parametrize("done", [0, 1], ids=["before the first tensor", "after the first tensor"])
def test_cancelling_stops_the_child_and_leaves_nothing(
        done: int, tiny_bf16_gguf: Path, out_dir: Path, no_child_left: None) -> None:
    cancel = CancelToken()
    with pytest.raises(JobCancelled):
        quantize_gguf(tiny_bf16_gguf, out_dir / "iq3.gguf", "iq3_s",
                      on_progress=cancel_at(done, cancel), cancel=cancel)
    assert list(out_dir.iterdir()) == []


def test_a_cancel_keeps_an_existing_output_untouched(tiny_bf16_gguf: Path, out_dir: Path) -> None:
    existing = out_dir / "model.gguf"
    existing.write_bytes(b"the previous build")
    cancel = CancelToken()
    with pytest.raises(JobCancelled):
        quantize_gguf(tiny_bf16_gguf, existing, "q8_0", on_progress=cancel_at(1, cancel),
                      cancel=cancel)
    assert list(out_dir.iterdir()) == [existing]
    assert existing.read_bytes() == b"the previous build"


def test_an_interrupt_in_the_caller_kills_the_child_and_leaves_nothing(
        tiny_bf16_gguf: Path, out_dir: Path, no_child_left: None) -> None:
    def press_ctrl_c(progress: Progress) -> None:
        if progress.done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        quantize_gguf(tiny_bf16_gguf, out_dir / "q6.gguf", "q6_k", on_progress=press_ctrl_c)
    assert list(out_dir.iterdir()) == []


@needs_proc
def test_a_crashed_child_gives_a_quantize_error_and_leaves_nothing(
        tiny_bf16_gguf: Path, out_dir: Path, no_child_left: None) -> None:
    killed: list[int] = []

    def crash_child(_progress: Progress) -> None:
        if not killed:
            killed.extend(child_pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(QuantizeError, match="crashed \\(SIGKILL\\)"):
        quantize_gguf(tiny_bf16_gguf, out_dir / "q8.gguf", "q8_0", on_progress=crash_child)
    assert len(killed) == 1
    assert list(out_dir.iterdir()) == []


HALF_A_MESSAGE_THEN_WAIT = """
import pickle, sys, time
message = pickle.dumps(("a message", list(range(100))))
sys.stdout.buffer.write(message[:len(message) // 2])
sys.stdout.buffer.flush()
sys.stderr.write("half written\\n")
sys.stderr.flush()
time.sleep(120)
"""


def test_a_child_killed_in_the_middle_of_a_message_ends_the_reader_quietly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a cancel kills the child whenever it comes, also halfway through a message; the reader
    # thread must then end without an exception (it used to die of a truncated pickle, or of
    # the pipe being closed under its read)
    escaped: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    child = subprocess.Popen([sys.executable, "-c", HALF_A_MESSAGE_THEN_WAIT],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        reader = _ChildReader(child)
        assert child.stderr.readline() == b"half written\n"
        _stop(child, reader)
        assert reader.join(timeout=10)
    finally:
        child.kill()
        child.wait()
        child.stderr.close()
    assert [f"{hook.exc_type.__name__}: {hook.exc_value}" for hook in escaped] == []
    assert reader.messages.get_nowait() is _CHILD_GONE
    assert child.stdout.closed


ORPHANING_PARENT = """
import os, signal, sys
from quant.quantize import quantize_gguf

def parent_of(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
    except OSError:
        return None  # the process ended while we looked

def die_with_child_running(progress):
    children = [p for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == str(os.getpid())]
    print(" ".join(children), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

quantize_gguf(sys.argv[1], sys.argv[2], "iq3_s", on_progress=die_with_child_running)
"""


def process_is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@needs_proc
def test_the_child_exits_by_itself_when_the_parent_dies(tiny_bf16_gguf: Path,
                                                         out_dir: Path) -> None:
    parent = subprocess.run(
        [sys.executable, "-c", ORPHANING_PARENT, str(tiny_bf16_gguf), str(out_dir / "x.gguf")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert parent.returncode == -signal.SIGKILL
    (orphan,) = map(int, parent.stdout.split())
    deadline = time.monotonic() + 20
    while process_is_running(orphan) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_is_running(orphan)
    for leftover in out_dir.iterdir():  # the dead parent could not clean up; the child stopped
        with pytest.raises(GGUFValidationError):
            validate_gguf(leftover)


def test_an_input_damaged_after_validation_fails_with_llama_cpps_reason(
        source_copy: Path, out_dir: Path, no_child_left: None) -> None:
    def damage_input(progress: Progress) -> None:
        if progress.done == 0 and source_copy.stat().st_size > 4096:
            os.truncate(source_copy, 4096)  # the child is still starting; it reads this

    with pytest.raises(QuantizeError) as failed:
        quantize_gguf(source_copy, out_dir / "q8.gguf", "q8_0", on_progress=damage_input)
    message = str(failed.value)
    assert "llama.cpp could not quantize source.gguf" in message
    assert "Last log lines:" in message
    assert list(out_dir.iterdir()) == []


def test_a_full_disk_gives_a_disk_full_error_and_leaves_nothing(
        tiny_bf16_gguf: Path, small_filesystem: Callable[[int], Path]) -> None:
    small_disk = small_filesystem(1_000_000)  # the Q8_0 output needs 1.8 MB
    with pytest.raises(DiskFullError, match="free some space"):
        quantize_gguf(tiny_bf16_gguf, small_disk / "q8.gguf", "q8_0")
    assert list(small_disk.iterdir()) == []


# --- an output folder that cannot be written ------------------------------------------------------

def quantize_on_the_cli(source: Path, output: Path, capsys: pytest.CaptureFixture[str]
                        ) -> tuple[int, str]:
    status = cli_main(["quantize", str(source), "-o", str(output), "--type", "q8_0",
                       "--threads", "1"])
    return status, capsys.readouterr().err


def test_a_read_only_output_disk_is_named_in_one_sentence(
        tiny_bf16_gguf: Path, small_filesystem: Callable[[int], Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    disk = small_filesystem(64 << 20)
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True,
                               text=True, check=False)
    if remounted.returncode != 0:
        pytest.skip(f"cannot remount a tmpfs read-only here: {remounted.stderr.strip()}")
    status, err = quantize_on_the_cli(tiny_bf16_gguf, disk / "q8.gguf", capsys)
    assert status == 2
    assert err.splitlines() == [
        f"finr1: error: cannot write {disk / 'q8.gguf'}: the folder {disk} is read-only or not "
        "yours to write in; choose another place for the quantized model"]
    assert "space" not in err


def test_a_folder_where_writing_is_not_permitted_is_refused_as_such(
        tiny_bf16_gguf: Path, out_dir: Path) -> None:
    # root ignores permission bits, not the immutable attribute
    if subprocess.run(["chattr", "+i", str(out_dir)], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("chattr +i is not available here")
    progress: list[Progress] = []
    try:
        with pytest.raises(OutputPathError, match="read-only or not yours to write in"):
            quantize_gguf(tiny_bf16_gguf, out_dir / "q8.gguf", "q8_0",
                          on_progress=progress.append)
    finally:
        subprocess.run(["chattr", "-i", str(out_dir)], check=True)
    assert progress == []  # refused before the child started
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("below", ["file", "file/sub"])
def test_an_output_under_a_regular_file_is_refused(below: str, tiny_bf16_gguf: Path,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_bytes(b"not a folder")
    status, err = quantize_on_the_cli(tiny_bf16_gguf, tmp_path / below / "q8.gguf", capsys)
    assert status == 2
    assert err.splitlines() == [
        f"finr1: error: cannot write {tmp_path / below / 'q8.gguf'}: {tmp_path / 'file'} is a "
        "file, not a folder; choose another place for the quantized model"]


# --- the command line ---------------------------------------------------------------------------

def test_cli_quantizes_prints_the_output_path_and_suggests_an_importance_matrix(
        tiny_bf16_gguf: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = out_dir / "tiny-q4_k_s.gguf"
    status = cli_main(["quantize", str(tiny_bf16_gguf), "-o", str(output), "--type", "Q4_K_S",
                       "--threads", "1"])
    printed = capsys.readouterr()
    assert status == 0
    assert printed.out.strip() == str(output)
    assert "better with an importance matrix" in printed.err
    assert validate_gguf(output).file_type == quant_type("q4_k_s").llama_ftype


def test_cli_explains_the_refusal_of_iq3_xs_without_importance_matrix(
        tiny_bf16_gguf: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["quantize", str(tiny_bf16_gguf), "-o", str(out_dir / "x.gguf"),
                       "--type", "iq3_xs"])
    assert status == 2
    assert "finr1 imatrix" in capsys.readouterr().err
    assert list(out_dir.iterdir()) == []
