"""Chat-completion streams as OpenAI-compatible servers send them, for the remote engine's tests.

The same reply (a Fin-R1-style reasoning, then an answer with a boxed result) in each server's
format: vLLM with its reasoning parser (``reasoning_content`` before 0.11, ``reasoning`` after),
vLLM without one (``<think>`` inline in ``content``), Ollama (``reasoning``) and llama.cpp's
server (inline). The fields, their order, the role-only first delta, the empty delta carrying the
finish reason, the usage event without choices (``stream_options``) and ``[DONE]`` are as those
servers write them. Served by tests/support/openai_replay_server.py.
"""

from __future__ import annotations

import json

REASONING = ["The", " P", "/E", " ratio", " is", " price", " over", " earnings", ":", " 50", " /",
             " 2", " =", " 25", "."]
ANSWER = ["\n", "<answer>", "\n", "The", " P/E", " is", " \\", "boxed", "{", "25", "}", ".", "\n",
          "</answer>"]
INLINE = ["<think>", "\n", *REASONING, "\n", "</think>", *ANSWER]


def _vllm_event(delta: dict[str, object], finish: str | None = None, model: str = "Fin-R1") -> str:
    choice: dict[str, object] = {"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish}
    if finish is not None:
        choice["stop_reason"] = None
    return "data: " + json.dumps({
        "id": "chatcmpl-3b0f9c8e2a6d4c1e9f7a5b3c1d2e4f60", "object": "chat.completion.chunk",
        "created": 1736917204, "model": model, "choices": [choice]}, separators=(",", ":"))


def vllm_body(reasoning_field: str | None, finish: str = "stop", usage: bool = True) -> str:
    """A vLLM stream: the reasoning in ``reasoning_field`` ("reasoning_content" before 0.11,
    "reasoning" after) with its reasoning parser on, or inline in the content (None)."""
    events = [_vllm_event({"role": "assistant", "content": ""})]
    if reasoning_field is None:
        events += [_vllm_event({"content": token}) for token in INLINE]
    else:
        events += [_vllm_event({reasoning_field: token}) for token in REASONING]
        events += [_vllm_event({"content": token}) for token in ANSWER]
    events.append(_vllm_event({"content": ""}, finish))
    if usage:
        completion = len(INLINE)
        events.append("data: " + json.dumps({
            "id": "chatcmpl-3b0f9c8e2a6d4c1e9f7a5b3c1d2e4f60", "object": "chat.completion.chunk",
            "created": 1736917204, "model": "Fin-R1", "choices": [],
            "usage": {"prompt_tokens": 38, "total_tokens": 38 + completion,
                      "completion_tokens": completion}}, separators=(",", ":")))
    events.append("data: [DONE]")
    return "\n\n".join(events) + "\n\n"


def ollama_body() -> str:
    """Ollama's OpenAI-compatible stream of a thinking model: ``reasoning`` beside an empty
    ``content`` in every delta, the role repeated, no usage unless asked, [DONE]."""
    def event(reasoning: str, content: str, finish: str | None = None) -> str:
        delta: dict[str, object] = {"role": "assistant", "content": content}
        if reasoning:
            delta["reasoning"] = reasoning
        return "data: " + json.dumps({
            "id": "chatcmpl-412", "object": "chat.completion.chunk", "created": 1758030000,
            "model": "fin-r1:7b", "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]},
            separators=(",", ":"))
    events = [event(token, "") for token in REASONING]
    events += [event("", token) for token in ANSWER]
    events += [event("", "", "stop"), "data: [DONE]"]
    return "\n\n".join(events) + "\n\n"


def llama_cpp_body() -> str:
    """llama.cpp's server with ``--reasoning-format none``: the reasoning inline in ``content``,
    and the timings it adds to the last chunk."""
    events = ["data: " + json.dumps({
        "choices": [{"finish_reason": None, "index": 0, "delta": {"content": token}}],
        "created": 1758030000, "id": "chatcmpl-Xy1", "model": "fin-r1-q4_k_m.gguf",
        "system_fingerprint": "b6500-1d7a6f2", "object": "chat.completion.chunk"})
        for token in INLINE]
    events.append("data: " + json.dumps({
        "choices": [{"finish_reason": "stop", "index": 0, "delta": {}}], "created": 1758030000,
        "id": "chatcmpl-Xy1", "model": "fin-r1-q4_k_m.gguf", "object": "chat.completion.chunk",
        "usage": {"completion_tokens": len(INLINE), "prompt_tokens": 38, "total_tokens": 70},
        "timings": {"prompt_n": 38, "predicted_n": len(INLINE)}}))
    events.append("data: [DONE]")
    return "\n\n".join(events) + "\n\n"


FORMATS = {
    "vllm-reasoning_content": vllm_body("reasoning_content"),
    "vllm-reasoning": vllm_body("reasoning"),
    "vllm-inline-think": vllm_body(None),
    "ollama-reasoning": ollama_body(),
    "llama.cpp-inline-think": llama_cpp_body(),
}
