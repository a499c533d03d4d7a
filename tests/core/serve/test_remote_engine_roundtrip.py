"""Fin-R1 Studio asking Fin-R1 Studio: the app's remote engine pointed at its own server answers
as the model does in-process (greedy: the same tokens), key and all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.engine.remote_engine import RemoteEngine
from app.core.engine.server_connection import ServerConnection
from app.core.templates.chat_template import ChatMessage
from tests.support.serve_support import serving


def test_the_remote_engine_on_this_server_answers_as_the_local_engine(
        tiny_gguf_factory: Callable[..., Path]) -> None:
    question = [ChatMessage("user", "hello there")]
    settings = GenerationSettings(temperature=0.0, seed=1, max_new_tokens=12, system_prompt=None)
    with ChatEngine(tiny_gguf_factory("bf16"),
                    EngineConfig(n_ctx=256, n_threads=1, n_gpu_layers=0)) as engine:
        local = engine.chat(question, settings)
        with serving(engine, api_key="team-key") as served:
            remote = RemoteEngine(ServerConnection(served.url, "team-key", ""))
            answered = remote.chat(question, settings)

    assert remote.info.model_id == "Fin-R1"
    assert answered.text == local.text
    assert answered.finish_reason == local.finish_reason
    assert answered.metrics.completion_tokens == local.metrics.completion_tokens
