"""Reading libllama's quantizer log: fragments in the exact formats of ``src/llama-quant.cpp``."""

from __future__ import annotations

from foundation.llama_log import LogLine, QuantizeLogParser, TensorDone, TensorStarted


def header(index: int, total: int, name: str, shape: tuple[int, ...], type_name: str) -> str:
    """``LLAMA_LOG_INFO("[%4d/%4d] %-36s - [%s], type = %6s, ", …)`` with libllama's shape format."""
    dims = ", ".join(f"{extent:6d}" for extent in (*shape, *(1,) * (4 - len(shape))))
    return f"[{index:4d}/{total:4d}] {name:<36s} - [{dims}], type = {type_name:>6s}, "


QUANTIZED = [header(1, 3, "token_embd.weight", (256, 896), "bf16"), "converting to q4_K .. ",
             "size =     0.44 MiB ->     0.12 MiB\n"]
COPIED = [header(2, 3, "output_norm.weight", (256,), "f32"), "size =    0.001 MiB\n"]
LAST = [header(3, 3, "blk.0.attn_q.weight", (256, 256), "bf16"), "converting to q6_K .. ",
        "size =     0.12 MiB ->     0.05 MiB\n"]
SUMMARY = "llama_model_quantize_impl: model size  =     3.13 MiB (16.02 BPW)\n"

EXPECTED = [
    TensorStarted(1, 3, "token_embd.weight"), TensorDone(1, 3, "token_embd.weight"),
    TensorStarted(2, 3, "output_norm.weight"), TensorDone(2, 3, "output_norm.weight"),
    TensorStarted(3, 3, "blk.0.attn_q.weight"), TensorDone(3, 3, "blk.0.attn_q.weight"),
    LogLine(SUMMARY.rstrip()),
]


def feed_all(parser: QuantizeLogParser, fragments: list[str]) -> list[object]:
    events: list[object] = []
    for fragment in fragments:
        events.extend(parser.feed(fragment))
    return events


def test_each_tensor_is_started_at_its_header_and_done_at_its_size() -> None:
    parser = QuantizeLogParser()
    assert parser.feed(QUANTIZED[0]) == [TensorStarted(1, 3, "token_embd.weight")]
    assert parser.feed(QUANTIZED[1]) == []
    assert parser.feed(QUANTIZED[2]) == [TensorDone(1, 3, "token_embd.weight")]


def test_a_whole_run_gives_events_in_order() -> None:
    events = feed_all(QuantizeLogParser(), [*QUANTIZED, *COPIED, *LAST, SUMMARY])
    assert events == EXPECTED


def test_fragments_split_anywhere_give_the_same_events() -> None:
    text = "".join([*QUANTIZED, *COPIED, *LAST, SUMMARY])
    assert feed_all(QuantizeLogParser(), list(text)) == EXPECTED


def test_the_missing_imatrix_notice_inside_a_line_does_not_end_the_tensor() -> None:
    notice = "\n====== llama_model_quantize_impl: did not find weights for blk.0.attn_q.weight\n"
    events = feed_all(QuantizeLogParser(), [LAST[0], notice, *LAST[1:]])
    assert events == [
        TensorStarted(3, 3, "blk.0.attn_q.weight"),
        LogLine(LAST[0].rstrip()),
        LogLine(notice.strip()),
        TensorDone(3, 3, "blk.0.attn_q.weight"),
    ]


def test_a_failure_names_its_reason_and_the_tensor_is_not_done() -> None:
    parser = QuantizeLogParser()
    failure = "llama_model_quantize: failed to quantize: requantizing from type q8_0 is disabled\n"
    events = feed_all(parser, [header(1, 3, "output.weight", (256, 896), "q8_0"), failure])
    assert events[0] == TensorStarted(1, 3, "output.weight")
    assert not any(isinstance(event, TensorDone) for event in events)
    assert parser.failure == "requantizing from type q8_0 is disabled"
    assert "output.weight" in parser.tail[-1]


def test_other_lines_are_kept_in_a_bounded_tail_without_blank_lines() -> None:
    parser = QuantizeLogParser(tail_lines=2)
    feed_all(parser, ["first\n", "\n", "   \n", "second\n", "third\n"])
    assert list(parser.tail) == ["second", "third"]


def test_flush_completes_a_last_line_without_newline() -> None:
    parser = QuantizeLogParser()
    assert parser.feed("llama_model_quantize: failed to quantize: out of memory") == []
    assert parser.flush() == [LogLine("llama_model_quantize: failed to quantize: out of memory")]
    assert parser.failure == "out of memory"
    assert parser.flush() == []
