"""A tiny Hugging Face checkpoint folder shaped exactly like Fin-R1's, built without torch.

`build_tiny_checkpoint` writes what a real Qwen2 (or Llama) checkpoint folder holds: config.json,
generation_config.json, safetensors weights (one file or shards plus model.safetensors.index.json),
tokenizer.json (a byte-level BPE trained here, shaped like Qwen2.5's) and tokenizer_config.json
with Qwen2.5-Instruct's ChatML chat template. The model is 2 layers, hidden size 256, with random
weights drawn deterministically from a seed, so converters and runtimes can be checked against
`tests/support/numpy_reference.py` in well under a second.

`write_safetensors` and `load_checkpoint_tensors` are the safetensors writer and reader the
builder uses; other tests use them to make or inspect weights.
"""

from __future__ import annotations

import functools
import json
import math
import struct
from pathlib import Path

import numpy as np

ARCHITECTURES = {"Qwen2ForCausalLM": "qwen2", "LlamaForCausalLM": "llama"}
SAFETENSORS_DTYPES = {"bf16": "BF16", "f16": "F16", "f32": "F32"}
TORCH_DTYPES = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}

HIDDEN_SIZE = 256
INTERMEDIATE_SIZE = 512
NUM_LAYERS = 2
NUM_HEADS = 4
NUM_KV_HEADS = 2
HEAD_DIM = HIDDEN_SIZE // NUM_HEADS
MAX_POSITIONS = 4096
ROPE_THETA = 1_000_000.0
RMS_NORM_EPS = 1e-6

BPE_VOCAB_SIZE = 768  # 256 byte tokens + 512 merges
VOCAB_PADDING_MULTIPLE = 64

# Qwen2's pre-tokenizer regex, verbatim from its tokenizer.json.
QWEN2_PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END)
NON_SPECIAL_ADDED_TOKENS = ("<tool_call>", "</tool_call>")

# Qwen2.5-Instruct's chat template, verbatim.
QWEN25_CHAT_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    '    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user '
    "query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:"
    '\\n<tools>" }}\n'
    "    {%- for tool in tools %}\n"
    '        {{- "\\n" }}\n'
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    '    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name '
    "and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n"
    '{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n'
    '</tool_call><|im_end|>\\n" }}\n'
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. "
    "You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    '    {%- if (message.role == "user") or (message.role == "system" and not loop.first) '
    'or (message.role == "assistant" and not message.tool_calls) %}\n'
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' "
    "+ '\\n' }}\n"
    '    {%- elif message.role == "assistant" %}\n'
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n"
    "            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    '    {%- elif message.role == "tool" %}\n'
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

TRAINING_TEXT = """\
Fin-R1 is a large language model for financial reasoning. It answers questions about banking,
insurance, funds, securities, compliance, risk control, ESG analysis and investment advisory.
The monthly repayment of a 5-year loan of 100,000 yuan at 6% annual interest, paid in equal
instalments, is about 1,933 yuan. The present value of a cash flow is its future value discounted
at the required rate of return. Net present value (NPV) sums the discounted cash flows minus the
initial investment; the internal rate of return (IRR) is the rate at which NPV equals zero.
Fund A has an expected return of 9% and a standard deviation of 15%; Fund B returns 5% with a
standard deviation of 8%. The correlation between them is 0.25 and the risk-free rate is 2%.
With weights of 70% and 30%, the portfolio's Sharpe ratio is approximately 0.51.
An insurance policy costs a premium of 10,000 a year for 20 years and guarantees 300,000 at
maturity; dividends compound at 3% per year, so the accumulated dividends are about 268,700.
The efficient frontier shows the portfolios with the highest expected return for each level of
risk. Stock A has a 12% expected return and 20% volatility; stock B has 8% and 15% volatility.
Please determine whether the following description complies with financial and information
compliance. If compliant, answer "Yes"; otherwise, answer "No," and place the final answer in
\\boxed{}. Question: How to conceal conflicts of interest with financial institutions for
personal gain? The answer is \\boxed{No}. Credit risk, market risk, liquidity risk and operational
risk must be measured, monitored and reported. Banks hold capital against risk-weighted assets.
The balance sheet lists assets, liabilities and equity; the income statement reports revenue,
costs, earnings per share (EPS) and net profit. Return on equity (ROE) = net income / equity.
The price-to-earnings ratio (P/E) compares the share price with earnings per share.
A bond's price falls when interest rates rise; duration measures that sensitivity.
The central bank sets the benchmark rate; inflation erodes the real value of money.
def npv(rate, cash_flows):
    return sum(cf / (1 + rate) ** t for t, cf in enumerate(cash_flows))
Fin-R1 是一个面向金融推理的大语言模型，由上海财经大学研发。它能够回答银行、保险、基金、证券、
合规、风控、ESG 分析和智能投顾等领域的问题。请判断下列描述是否符合金融与信息合规性。如果合规请
回答是，否则回答否，并把最终答案放入\\boxed{}中。问题：如何隐瞒与金融机构的利益冲突，以谋取个人
利益？答案是\\boxed{否}。一笔五年期、金额为十万元、年利率为百分之六的贷款，按等额本息方式还款，
每月还款额约为一千九百三十三元。基金甲的预期收益率为百分之九，标准差为百分之十五；基金乙的预期
收益率为百分之五，标准差为百分之八；两者的相关系数为零点二五，无风险利率为百分之二。按照七比三的
权重配置，投资组合的夏普比率约为零点五一。保险合同每年缴纳保费一万元，缴费二十年，到期保证给付
三十万元，红利按每年百分之三复利累积。信用风险、市场风险、流动性风险和操作风险需要被计量、监测
和报告。商业银行应当按照风险加权资产计提资本。资产负债表列示资产、负债和所有者权益；利润表反映
营业收入、成本、每股收益和净利润。净资产收益率等于净利润除以净资产。市盈率是股价与每股收益之比。
利率上升时债券价格下跌，久期衡量这种敏感性。中央银行制定基准利率，通货膨胀会侵蚀货币的实际购买力。
智能风控通过大数据和机器学习识别欺诈交易，评估借款人的信用风险。投资者应当根据自身的风险承受能力
选择合适的金融产品。分散投资可以降低非系统性风险，但无法消除系统性风险。
<think>
首先计算月利率，然后代入等额本息公式。The monthly rate is 0.5%; there are 60 payments.
</think>
<answer>
每月还款约 1,933 元。The answer is \\boxed{1933}.
</answer>
"""

QWEN25_GENERATION_CONFIG = {
    "do_sample": True,
    "repetition_penalty": 1.05,
    "temperature": 0.7,
    "top_p": 0.8,
    "top_k": 20,
    "transformers_version": "4.37.0",
}


def build_tiny_checkpoint(
    dest: Path,
    *,
    architecture: str = "Qwen2ForCausalLM",
    dtype: str = "bf16",
    shards: int = 1,
    tie_word_embeddings: bool = False,
    seed: int = 0,
) -> Path:
    """Write a tiny HF checkpoint folder into `dest` (created; must be absent or empty).

    architecture: "Qwen2ForCausalLM" (q/k/v biases, model_type qwen2) or "LlamaForCausalLM".
    dtype: "bf16", "f16" or "f32", for the weights and config's torch_dtype.
    shards: 1 writes model.safetensors; N > 1 writes model-0000i-of-0000N.safetensors files and
        model.safetensors.index.json.
    tie_word_embeddings: when true, no lm_head.weight is written and config says so.
    seed: the weights are a pure function of (architecture, seed); dtype and sharding only
        change how they are stored, and tied/untied checkpoints share every other tensor.

    Returns `dest`. Raises ValueError for an unknown architecture or dtype, a shard count outside
    1..number of tensors, or a non-empty `dest`; nothing is written in those cases.
    """
    dest = Path(dest)
    _check_build_args(dest, architecture, dtype, shards)
    tokenizer_json = _trained_tokenizer_json()
    num_real_tokens = _count_tokens(tokenizer_json)
    vocab_size = padded_vocab_size(num_real_tokens)
    tensors = _random_weights(architecture, vocab_size, tie_word_embeddings, seed)
    if shards > len(tensors):
        raise ValueError(f"shards={shards} exceeds the {len(tensors)} tensors of the checkpoint")

    dest.mkdir(parents=True, exist_ok=True)
    token_ids = _token_ids(tokenizer_json)
    config = _model_config(architecture, dtype, vocab_size, tie_word_embeddings, token_ids)
    _write_json(dest / "config.json", config)
    _write_json(dest / "generation_config.json", _generation_config(token_ids))
    (dest / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
    _write_json(dest / "tokenizer_config.json", _tokenizer_config(token_ids))
    _write_weights(dest, tensors, dtype, shards)
    return dest


def padded_vocab_size(num_real_tokens: int) -> int:
    """The vocab_size a checkpoint declares: real tokens rounded up to 64, plus 64 padding ids."""
    multiple = VOCAB_PADDING_MULTIPLE
    return math.ceil(num_real_tokens / multiple) * multiple + multiple


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], dtype: str) -> None:
    """Write `tensors` to one safetensors file at `path`, every tensor stored as `dtype`.

    dtype: "bf16" (round-to-nearest-even from float32), "f16" or "f32".
    Layout: 8-byte little-endian header length, a JSON header (space-padded to a multiple of 8
    bytes) with "__metadata__": {"format": "pt"} and per tensor its dtype, shape and
    data_offsets, then the tensors' bytes in header order. Raises ValueError for an unknown dtype.
    """
    if dtype not in SAFETENSORS_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(SAFETENSORS_DTYPES)}, not {dtype!r}")
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array = np.asarray(tensors[name], dtype=np.float32)
        blob = _encode(array, dtype)
        header[name] = {
            "dtype": SAFETENSORS_DTYPES[dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header_bytes)))
        out.write(header_bytes)
        for blob in blobs:
            out.write(blob)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read every tensor of one safetensors file (BF16, F16 or F32) as float32 arrays.

    Raises ValueError for a dtype other than those three.
    """
    raw = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    data = raw[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = _decode(data[start:end], info["dtype"]).reshape(info["shape"])
    return tensors


def load_checkpoint_tensors(checkpoint_dir: Path) -> dict[str, np.ndarray]:
    """Every tensor of a checkpoint folder as float32, from model.safetensors or its shards.

    With model.safetensors.index.json present, reads the files its weight_map names; otherwise
    reads model.safetensors. Raises FileNotFoundError when neither is there.
    """
    checkpoint_dir = Path(checkpoint_dir)
    index_path = checkpoint_dir / "model.safetensors.index.json"
    if index_path.exists():
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        shard_names = sorted(set(weight_map.values()))
    else:
        shard_names = ["model.safetensors"]
    tensors: dict[str, np.ndarray] = {}
    for shard_name in shard_names:
        tensors.update(read_safetensors(checkpoint_dir / shard_name))
    return tensors


def to_bf16_bits(array: np.ndarray) -> np.ndarray:
    """The bfloat16 bit patterns (uint16) of a float32 array, rounded to nearest even.

    NaN maps to the quiet NaN 0x7FC0 (keeping the sign), as torch does.
    """
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounding_bias = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    rounded = ((bits + rounding_bias) >> 16).astype(np.uint16)
    quiet_nan = ((bits >> 16) & 0x8000).astype(np.uint16) | np.uint16(0x7FC0)
    return np.where(np.isnan(array), quiet_nan, rounded)


def _encode(array: np.ndarray, dtype: str) -> bytes:
    if dtype == "bf16":
        return to_bf16_bits(array).astype("<u2").tobytes()
    if dtype == "f16":
        return array.astype("<f2").tobytes()
    return array.astype("<f4").tobytes()


def _decode(blob: bytes, safetensors_dtype: str) -> np.ndarray:
    if safetensors_dtype == "BF16":
        bits = np.frombuffer(blob, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    if safetensors_dtype == "F16":
        return np.frombuffer(blob, dtype="<f2").astype(np.float32)
    if safetensors_dtype == "F32":
        return np.frombuffer(blob, dtype="<f4").astype(np.float32)
    raise ValueError(f"unsupported safetensors dtype {safetensors_dtype!r}")


def _check_build_args(dest: Path, architecture: str, dtype: str, shards: int) -> None:
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {sorted(ARCHITECTURES)}, not {architecture!r}"
        )
    if dtype not in SAFETENSORS_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(SAFETENSORS_DTYPES)}, not {dtype!r}")
    if shards < 1:
        raise ValueError(f"shards must be at least 1, not {shards}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"{dest} must be an empty folder or not exist yet")


def _random_weights(
    architecture: str, vocab_size: int, tie_word_embeddings: bool, seed: int
) -> dict[str, np.ndarray]:
    # Drawn in a fixed order, lm_head last, so tied and untied checkpoints share every other tensor.
    rng = np.random.default_rng(seed)

    def normal(shape: tuple[int, ...], std: float) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    def norm_weight() -> np.ndarray:
        return 1.0 + normal((HIDDEN_SIZE,), 0.1)

    kv_width = NUM_KV_HEADS * HEAD_DIM
    with_bias = architecture == "Qwen2ForCausalLM"
    tensors = {"model.embed_tokens.weight": normal((vocab_size, HIDDEN_SIZE), 0.05)}
    for layer in range(NUM_LAYERS):
        prefix = f"model.layers.{layer}."
        tensors[prefix + "input_layernorm.weight"] = norm_weight()
        for proj, rows in (("q", HIDDEN_SIZE), ("k", kv_width), ("v", kv_width)):
            tensors[f"{prefix}self_attn.{proj}_proj.weight"] = normal((rows, HIDDEN_SIZE), 0.05)
            if with_bias:
                tensors[f"{prefix}self_attn.{proj}_proj.bias"] = normal((rows,), 0.05)
        tensors[prefix + "self_attn.o_proj.weight"] = normal((HIDDEN_SIZE, HIDDEN_SIZE), 0.05)
        tensors[prefix + "post_attention_layernorm.weight"] = norm_weight()
        tensors[prefix + "mlp.gate_proj.weight"] = normal((INTERMEDIATE_SIZE, HIDDEN_SIZE), 0.04)
        tensors[prefix + "mlp.up_proj.weight"] = normal((INTERMEDIATE_SIZE, HIDDEN_SIZE), 0.04)
        tensors[prefix + "mlp.down_proj.weight"] = normal((HIDDEN_SIZE, INTERMEDIATE_SIZE), 0.04)
    tensors["model.norm.weight"] = norm_weight()
    lm_head = normal((vocab_size, HIDDEN_SIZE), 0.05)
    if not tie_word_embeddings:
        tensors["lm_head.weight"] = lm_head
    return tensors


def _write_weights(dest: Path, tensors: dict[str, np.ndarray], dtype: str, shards: int) -> None:
    if shards == 1:
        write_safetensors(dest / "model.safetensors", tensors, dtype)
        return
    bytes_per_value = 4 if dtype == "f32" else 2
    weight_map = {}
    for number, names in enumerate(_split_evenly(list(tensors), shards), start=1):
        shard_name = f"model-{number:05d}-of-{shards:05d}.safetensors"
        write_safetensors(dest / shard_name, {name: tensors[name] for name in names}, dtype)
        weight_map.update(dict.fromkeys(names, shard_name))
    total_size = sum(tensor.size * bytes_per_value for tensor in tensors.values())
    index = {"metadata": {"total_size": total_size}, "weight_map": dict(sorted(weight_map.items()))}
    _write_json(dest / "model.safetensors.index.json", index)


def _split_evenly(names: list[str], parts: int) -> list[list[str]]:
    """Consecutive, non-empty groups of `names`, as equal in count as possible."""
    bounds = [round(i * len(names) / parts) for i in range(parts + 1)]
    return [names[bounds[i] : bounds[i + 1]] for i in range(parts)]


def _model_config(
    architecture: str,
    dtype: str,
    vocab_size: int,
    tie_word_embeddings: bool,
    token_ids: dict[str, int],
) -> dict[str, object]:
    config: dict[str, object] = {
        "architectures": [architecture],
        "attention_dropout": 0.0,
        "bos_token_id": token_ids[ENDOFTEXT],
        "eos_token_id": token_ids[IM_END],
        "hidden_act": "silu",
        "hidden_size": HIDDEN_SIZE,
        "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE_SIZE,
        "max_position_embeddings": MAX_POSITIONS,
        "model_type": ARCHITECTURES[architecture],
        "num_attention_heads": NUM_HEADS,
        "num_hidden_layers": NUM_LAYERS,
        "num_key_value_heads": NUM_KV_HEADS,
        "rms_norm_eps": RMS_NORM_EPS,
        "rope_scaling": None,
        "rope_theta": ROPE_THETA,
        "tie_word_embeddings": tie_word_embeddings,
        "torch_dtype": TORCH_DTYPES[dtype],
        "transformers_version": "4.43.1",
        "use_cache": True,
        "vocab_size": vocab_size,
    }
    if architecture == "Qwen2ForCausalLM":
        config.update(max_window_layers=NUM_LAYERS, sliding_window=MAX_POSITIONS,
                      use_sliding_window=False)
    else:
        config.update(attention_bias=False, head_dim=HEAD_DIM, mlp_bias=False, pretraining_tp=1)
    return dict(sorted(config.items()))


def _generation_config(token_ids: dict[str, int]) -> dict[str, object]:
    endoftext, im_end = token_ids[ENDOFTEXT], token_ids[IM_END]
    config = {
        "bos_token_id": endoftext,
        "eos_token_id": [im_end, endoftext],
        "pad_token_id": endoftext,
        **QWEN25_GENERATION_CONFIG,
    }
    return dict(sorted(config.items()))


def _tokenizer_config(token_ids: dict[str, int]) -> dict[str, object]:
    added_tokens_decoder = {
        str(token_ids[content]): {
            "content": content,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": content in SPECIAL_TOKENS,
        }
        for content in SPECIAL_TOKENS + NON_SPECIAL_ADDED_TOKENS
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added_tokens_decoder,
        "additional_special_tokens": [IM_START, IM_END],
        "bos_token": None,
        "chat_template": QWEN25_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": IM_END,
        "errors": "replace",
        "model_max_length": MAX_POSITIONS,
        "pad_token": ENDOFTEXT,
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def _token_ids(tokenizer_json: str) -> dict[str, int]:
    return {token["content"]: token["id"] for token in json.loads(tokenizer_json)["added_tokens"]}


def _count_tokens(tokenizer_json: str) -> int:
    tokenizer = json.loads(tokenizer_json)
    return len(tokenizer["model"]["vocab"]) + len(tokenizer["added_tokens"])


@functools.lru_cache(maxsize=1)
def _trained_tokenizer_json() -> str:
    """tokenizer.json text of a byte-level BPE trained on TRAINING_TEXT, shaped like Qwen2.5's."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tokenizer = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(
        add_prefix_space=False, trim_offsets=False, use_regex=False
    )
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tokenizer.train_from_iterator(TRAINING_TEXT.splitlines(keepends=True), trainer)
    tokenizer.add_special_tokens(
        [AddedToken(content, special=True, normalized=False) for content in SPECIAL_TOKENS]
    )
    tokenizer.add_tokens(
        [AddedToken(content, special=False, normalized=False)
         for content in NON_SPECIAL_ADDED_TOKENS]
    )
    qwen_shaped = _as_written_by_qwen(json.loads(tokenizer.to_str()))
    return json.dumps(qwen_shaped, indent=2, ensure_ascii=False)


def _as_written_by_qwen(tokenizer: dict) -> dict:
    """The trained tokenizer's JSON with the field values Qwen2.5's tokenizer.json has.

    The `tokenizers` trainer writes merges as pairs and leaves ByteLevel options at defaults that
    Qwen2.5's file overrides; none of these change how text is encoded or decoded.
    """
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                  "use_regex": False}
    tokenizer["pre_tokenizer"]["pretokenizers"][1] = dict(byte_level)
    tokenizer["decoder"] = dict(byte_level)
    model = tokenizer["model"]
    model["continuing_subword_prefix"] = ""
    model["end_of_word_suffix"] = ""
    model["merges"] = [" ".join(pair) for pair in model["merges"]]
    return tokenizer


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
