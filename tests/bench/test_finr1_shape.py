"""The Fin-R1-shaped speed benchmark (bench/finr1_shape.py): the model it builds is Fin-R1's
shape, a measurement reads a real model, its figures for the suite are the report's medians, and
the suite skips it unless told where to write. The full runs are not made here (tens of GB, an
hour)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from app.core.hardware.speed_prediction import CPU_DECODE_EFFICIENCY

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from app.core.hardware.fit import FIN_R1_DIMS
from bench.contract import Status
from bench.finr1_shape import (
    FIN_R1_CONFIG,
    checkpoint_bytes,
    checkpoint_shapes,
    markdown,
    measure,
    measure_here,
    shaped_config,
    summary_figures,
)


def test_the_full_model_has_fin_r1s_config_and_parameter_count() -> None:
    config = shaped_config(28, 1.0)
    assert config == FIN_R1_CONFIG
    shapes = checkpoint_shapes(config)
    assert sum(math.prod(shape) for shape in shapes.values()) == FIN_R1_DIMS.parameter_count
    assert checkpoint_bytes(config) == pytest.approx(15.23e9, rel=0.001)
    assert shapes["model.layers.0.self_attn.k_proj.weight"] == (512, 3584)


def test_fewer_layers_keep_each_layers_shapes() -> None:
    full, reduced = checkpoint_shapes(shaped_config(28, 1.0)), checkpoint_shapes(
        shaped_config(2, 1.0))
    assert {name: shape for name, shape in full.items() if ".layers.1." in name} == \
        {name: shape for name, shape in reduced.items() if ".layers.1." in name}
    assert not any(".layers.2." in name for name in reduced)


@pytest.mark.parametrize("scale", [0.25, 0.5, 0.75])
def test_a_narrower_model_keeps_shapes_llama_cpp_can_quantize(scale: float) -> None:
    config = shaped_config(1, scale)
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    assert hidden % 256 == 0 and config["intermediate_size"] % 256 == 0  # k-quant super-blocks
    assert hidden == heads * 128 and heads % config["num_key_value_heads"] == 0
    assert config["vocab_size"] == FIN_R1_CONFIG["vocab_size"]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="--layers"):
        shaped_config(0, 1.0)
    with pytest.raises(ValueError, match="--scale"):
        shaped_config(2, 1.5)


def test_a_measurement_reads_a_real_model_and_sets_the_prediction_beside_it(
        smollm2_gguf: Path) -> None:
    row = measure_here(smollm2_gguf, threads=1, decode_tokens=8)
    assert row["decode_tok_s"] > 0 and row["prompt_tok_s"] > 0
    assert row["ttft_s"] > 0 and row["load_s"] > 0
    assert row["peak_rss_bytes"] > row["file_bytes"] / 2  # the mapped weights were read
    assert row["ceiling_tok_s"] == pytest.approx(row["bandwidth_bytes_per_s"]
                                                 / row["bytes_per_token"])
    report = {"created": "now", "machine": "test", "command": "finr1_shape.py",
              "config": FIN_R1_CONFIG, "bf16_bytes": 1, "steps_s": {"convert": 1.0},
              "rows": [{"model": "SmolLM2", "quant_type": "q4_1", **row}]}
    table = markdown(report)
    assert row["predicted_tok_s"] == pytest.approx(min(
        row["ceiling_tok_s"] * CPU_DECODE_EFFICIENCY, row["compute_ceiling_tok_s"]))
    assert "| SmolLM2 | q4_1 |" in table
    assert "predicted/measured decode of the Fin-R1-shaped rows: median" in table
    predicted_over_measured, bandwidth_share = summary_figures(report)
    assert predicted_over_measured.value == pytest.approx(row["predicted_tok_s"]
                                                          / row["decode_tok_s"])
    assert bandwidth_share.value == pytest.approx(row["decode_share_of_bandwidth"])
    assert f"rows: median {predicted_over_measured.value:.3f}" in table


def test_the_suite_skips_it_until_told_where_to_write() -> None:
    result = measure([], quick=True)
    assert result.status is Status.SKIPPED and "--workdir DIR" in result.reason
    assert "--layers 1 --scale 0.5" in result.command
