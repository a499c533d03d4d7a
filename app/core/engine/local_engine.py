"""The inference engine: a loaded GGUF that answers a conversation token by token.

``ChatEngine(gguf_path, EngineConfig())`` validates the file (``quant.gguf_check``) before
llama.cpp sees it, decides the GPU layers (``app.core.hardware.gpu_layers``), loads it, and picks
the chat template
(``app.core.templates.chat_template``: pinned ChatML for Fin-R1, the file's own template sandboxed otherwise).

``engine.stream_chat(conversation, settings, cancel)`` returns a ``ChatStream``: iterate it for one
``TokenChunk`` per generated token, then read ``stream.result`` (a ``TurnResult``). Each chunk
carries its text (whole UTF-8 characters only) and the reasoning parser's events for it, so
consumers never parse the reply again. The loop per token is sample → check stop → emit → check
cancel → decode, so a cancel set from any thread ends generation within one token; the partial
reply is kept with finish reason ``cancelled``. A cancel during a long prompt interrupts llama.cpp
itself. ``reply_prefix`` continues a reply that was cut off: the prompt ends inside the open
assistant turn, so the model picks up mid-sentence instead of starting over.
``engine.stream_completion(prompt, settings, cancel)`` continues a raw text instead of a
conversation (no chat template), with the same chunks and result.

With ``settings.think_budget`` N, the loop writes ``REASONING_CLOSE`` itself once the reasoning
has N generated tokens (one token per step, through the same emit and decode path, skipping the
sampler) and the model goes on to answer; ``metrics.reasoning_stopped_at`` says so. Prompts reuse
the KV cache of earlier ones (``LlamaRuntime.evaluate_prompt``, ``app.core.engine.prefix_cache``).
With ``EngineConfig.draft_model`` or ``prompt_lookup`` the loop decodes speculatively
(``app.core.engine.speculative``): drafts checked in one batch, the same reply token for token,
faster where drafts are accepted; ``metrics.draft_tokens`` / ``accepted_tokens`` count them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.engine.config import MAX_SEED, EngineConfig, GenerationSettings
from app.core.engine.context_window import FittedPrompt, fit_prompt
from app.core.engine.engine_base import EngineBusyError, TurnEngine
from app.core.engine.llama_runtime import LlamaRuntime, Sampler
from app.core.engine.load_probe import ensure_loads_safely
from app.core.engine.speculative import (
    DraftModelDrafter,
    Speculation,
    SpeculativeDecoder,
    check_draft_compatible,
)
from app.core.engine.token_text import StopStringFilter, Utf8Assembler
from app.core.engine.turn_metrics import FinishReason, SectionCounter, TurnMetrics
from app.core.errors import ContextOverflowError
from app.core.hardware.backend_devices import OffloadReport
from app.core.hardware.gpu_layers import OffloadPlan, plan_offload
from app.core.reasoning.parser import Event, ParsedReply, ReasoningParser, ReplyAccumulator
from app.core.templates.chat_template import (
    IM_END,
    ChatMessage,
    ChatTemplate,
    choose_chat_template,
    is_fin_r1,
)
from foundation.errors import ModelLoadError
from foundation.jobs import CancelToken
from quant.gguf_check import GGUFInfo, validate_gguf

# Besides the tokens the vocabulary marks as end-of-generation, these end a reply; as text too
# when a model's vocabulary lacks them as tokens (ChatML fallback on a non-ChatML model).
STOP_TEXTS = (IM_END, "<|endoftext|>")
# What the engine writes when the reasoning budget is spent: Fin-R1's own way out of its
# reasoning (<think>\n…\n</think>\n<answer>\n…), so the model goes on to answer.
REASONING_CLOSE = "\n</think>\n<answer>\n"


@dataclass(frozen=True)
class TokenChunk:
    """One step of a streamed reply.

    ``text``: what to append to the reply ("" while a character or a possible stop string is
    incomplete). ``token``: the generated token id (``REMOTE_TOKEN``, -1, from a server, which
    sends no ids); None for the final chunk, which carries the text held back until the end and
    the parser's closing events (always ending with ``Done``).
    ``events``: the reasoning parser's events for ``text``.
    """

    text: str
    token: int | None
    events: tuple[Event, ...]


@dataclass(frozen=True)
class TurnResult:
    """A finished turn: the raw reply ``text``, its sections (``reply``), why it ended and what it
    cost. ``finish_reason``: ``stop`` (the model ended), ``length`` (max_new_tokens reached) or
    ``cancelled`` (stopped; ``text`` is the part generated until then). ``prompt_messages``: what
    was sent: the system prompt, the history that fitted (replies without reasoning), the question.
    """

    text: str
    reply: ParsedReply
    finish_reason: FinishReason
    metrics: TurnMetrics
    prompt_messages: tuple[ChatMessage, ...]

    @property
    def stopped(self) -> bool:
        return self.finish_reason == "cancelled"


@dataclass(frozen=True)
class EngineInfo:
    """What was loaded and how, for a status line. ``warnings`` are to be shown to the person
    (a GPU requested on a CPU-only build, a fallback to the CPU). ``offload``: the plan;
    ``gpu_report``: where llama.cpp says it put the layers (None where not loaded here).
    ``speculation``: how replies are drafted (``off``, ``prompt lookup``, ``draft model NAME``)."""

    gguf_path: Path
    model_name: str | None
    architecture: str | None
    is_fin_r1: bool
    template_name: str
    n_ctx: int
    n_threads: int
    n_batch: int
    offload: OffloadPlan
    warnings: tuple[str, ...] = field(default=())
    gpu_report: OffloadReport | None = None
    speculation: str = "off"

    @property
    def placement(self) -> str:
        """Where the layers are, as llama.cpp reported after loading: ``GPU: 28/29 layers on
        <device>`` or ``CPU``."""
        return self.gpu_report.summary if self.gpu_report is not None else "CPU"

    @property
    def gpu_offload_supported(self) -> bool:
        return self.offload.offload_supported


class ChatStream:
    """An iterable of ``TokenChunk``s for one turn; generation runs as it is iterated.

    Iterate it once, in one thread. Errors (``ContextOverflowError``, ``ChatTemplateError``,
    ``GenerationError``) are raised from the iteration. ``result`` is set when it is exhausted.
    """

    def __init__(self, chunks: Callable[[ChatStream], Generator[TokenChunk, None, None]]) -> None:
        self._result: TurnResult | None = None
        self._chunks = chunks(self)

    def __iter__(self) -> Iterator[TokenChunk]:
        return self._chunks

    def _finish(self, result: TurnResult) -> None:
        self._result = result

    @property
    def result(self) -> TurnResult:
        """The finished turn; RuntimeError before the stream has been iterated to its end."""
        if self._result is None:
            raise RuntimeError("the reply is not finished: iterate the stream to its end first")
        return self._result

    def run(self) -> TurnResult:
        """Consume the remaining chunks and return the result."""
        for _chunk in self._chunks:
            pass
        return self.result

    def close(self) -> None:
        """Abandon the stream (frees the engine for the next turn); no result is produced."""
        self._chunks.close()


__all__ = ["ChatEngine", "ChatStream", "EngineBusyError", "EngineInfo", "TokenChunk", "TurnResult"]


class ChatEngine(TurnEngine):
    """A GGUF model loaded for chat. Close it (or use ``with``) to free its memory.

    Raises ``GGUFValidationError`` for a file that is not a valid GGUF (llama.cpp never sees it),
    ``ModelLoadError`` when llama.cpp cannot load it, or crashed loading it in the first-load
    probe (``app.core.engine.load_probe``). A chat template that cannot be used makes the engine prompt
    with ChatML, saying why in ``info.warnings``. A ``config.draft_model`` is loaded too, with the
    same errors for its file, and ``DraftModelMismatchError`` when its vocabulary is not the
    model's; it goes where the model's layers went (all on the GPU, else the CPU).
    """

    reopen_advice = "load the model again"

    def __init__(self, gguf_path: Path | str, config: EngineConfig | None = None) -> None:
        super().__init__()
        self.config = config or EngineConfig()
        gguf_info = validate_gguf(gguf_path)
        # the first load of a file runs in a child process, where a native abort ends only it
        ensure_loads_safely(gguf_info.path, threads=self.config.threads,
                            flash_attn=self.config.flash_attn)
        self.gguf_info: GGUFInfo = gguf_info
        plan = plan_offload(self.config.n_gpu_layers, gguf_info, self.config.n_ctx,
                            self.config.n_batch, device=self.config.device)
        warnings = [plan.warning] if plan.warning else []
        self._runtime, plan = self._load(gguf_info.path, plan, warnings)
        runtime = self._runtime
        try:
            self._speculation = self._load_speculation(plan, warnings)
        except BaseException:
            runtime.close()
            raise
        self.template: ChatTemplate = choose_chat_template(
            gguf_info.metadata, runtime.token_text(runtime.bos_token),
            runtime.token_text(runtime.eos_token),
        )
        if self.template.warning:
            warnings.append(self.template.warning)
        self._bos_text = runtime.token_text(runtime.bos_token) if runtime.adds_bos else ""
        self._stop_tokens, stop_texts = self._stop_markers()
        self._stop_texts = tuple(stop_texts)
        self.info = EngineInfo(
            gguf_path=gguf_info.path,
            model_name=gguf_info.name,
            architecture=gguf_info.architecture,
            is_fin_r1=is_fin_r1(gguf_info.metadata),
            template_name=self.template.name,
            n_ctx=runtime.n_ctx,
            n_threads=self.config.threads,
            n_batch=runtime.n_batch,
            offload=plan,
            warnings=tuple(warnings),
            gpu_report=runtime.offload,
            speculation=self._speculation.description if self._speculation else "off",
        )
        # held while the vocabulary is read from another thread (a document's token meter)
        self._vocabulary_lock = threading.Lock()

    def _runtime_for(self, path: Path, n_gpu_layers: int, *, n_ctx: int,
                     prefix_cache_bytes: int) -> LlamaRuntime:
        return LlamaRuntime(
            path, n_ctx=n_ctx, n_threads=self.config.threads,
            n_gpu_layers=n_gpu_layers, n_batch=self.config.n_batch,
            flash_attn=self.config.flash_attn, use_mmap=self.config.use_mmap,
            cache_type_k=self.config.cache_type_k, cache_type_v=self.config.cache_type_v,
            device=self.config.device if n_gpu_layers else None,
            prefix_cache_bytes=prefix_cache_bytes,
        )

    def _load(self, path: Path, plan: OffloadPlan,
              warnings: list[str]) -> tuple[LlamaRuntime, OffloadPlan]:
        def load(n_gpu_layers: int) -> LlamaRuntime:
            return self._runtime_for(path, n_gpu_layers, n_ctx=self.config.n_ctx,
                                     prefix_cache_bytes=self.config.prefix_cache_mib * 1024 * 1024)

        try:
            return load(plan.n_gpu_layers), plan
        except ModelLoadError as error:
            if plan.n_gpu_layers == 0:
                raise
            # a GPU that cannot hold the layers (or fails to allocate at all): say so and why
            where = self.config.device or "the GPU"
            warning = (f"the model could not be loaded on {where}, so it runs on the CPU "
                       f"({error})")
        warnings.append(warning)
        cpu_plan = OffloadPlan(plan.requested, 0, plan.offload_supported, plan.free_vram_bytes,
                               "CPU only (GPU loading failed)", warning)
        return load(0), cpu_plan

    def _load_speculation(self, plan: OffloadPlan, warnings: list[str]) -> Speculation | None:
        """The drafting ``config`` asks for; a draft model is validated, probed, loaded with the
        model's context size and checked against its vocabulary."""
        if self.config.prompt_lookup:
            return Speculation()
        if self.config.draft_model is None:
            return None
        draft_info = validate_gguf(self.config.draft_model)
        ensure_loads_safely(draft_info.path, threads=self.config.threads,
                            flash_attn=self.config.flash_attn)
        n_ctx = self._runtime.n_ctx
        on_gpu = plan.n_gpu_layers != 0
        try:
            draft = self._runtime_for(draft_info.path, -1 if on_gpu else 0, n_ctx=n_ctx,
                                      prefix_cache_bytes=0)
        except ModelLoadError as error:
            if not on_gpu:
                raise
            warnings.append(f"the draft model could not be loaded on the GPU, so it runs on the "
                            f"CPU ({error})")
            draft = self._runtime_for(draft_info.path, 0, n_ctx=n_ctx, prefix_cache_bytes=0)
        try:
            check_draft_compatible(self._runtime, draft, draft_info.path)
        except BaseException:
            draft.close()
            raise
        return Speculation(DraftModelDrafter(draft, draft_info.path.name))

    def _stop_markers(self) -> tuple[frozenset[int], list[str]]:
        """Single-token stop markers become stop tokens; the others are watched for as text."""
        tokens: set[int] = set()
        texts: list[str] = []
        for marker in STOP_TEXTS:
            ids = self._runtime.tokenize(marker, add_bos=False, parse_special=True)
            if len(ids) == 1:
                tokens.add(ids[0])
            else:
                texts.append(marker)
        return frozenset(tokens), texts

    # -- prompts --------------------------------------------------------------------------------

    def render_prompt(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text for ``messages`` (system prompt included), opening the reply."""
        return self.template.render(messages, add_generation_prompt=True)

    def tokenize_text(self, text: str) -> list[int]:
        """The tokens ``text`` takes inside a prompt (read as the prompt is: special-token markup
        parsed; no BOS): what an attached document costs of the context. Any thread may call it,
        also while a reply is generating (only the vocabulary is read); ``close`` waits for it.
        RuntimeError once the engine is closed."""
        with self._vocabulary_lock:
            if self._closed:
                raise RuntimeError("the model was closed; load it again to count tokens")
            return self._runtime.tokenize(text, add_bos=False, parse_special=True)

    def tokenize_prompt(self, messages: Sequence[ChatMessage], reply_prefix: str = "") -> list[int]:
        """The prompt tokens for ``messages``: special tokens parsed, BOS added when the model
        wants one and the template did not write it. The reply prefix is model text: its special
        tokens are not parsed."""
        text = self.render_prompt(messages)
        add_bos = bool(self._bos_text) and not text.startswith(self._bos_text)
        tokens = self._runtime.tokenize(text, add_bos=add_bos, parse_special=True)
        if reply_prefix:
            tokens += self._runtime.tokenize(reply_prefix, add_bos=False, parse_special=False)
        return tokens

    # -- generation -----------------------------------------------------------------------------

    def stream_chat(self, conversation: Sequence[ChatMessage],
                    settings: GenerationSettings | None = None,
                    cancel: CancelToken | None = None,
                    on_token: Callable[[TokenChunk], None] | None = None,
                    reply_prefix: str = "") -> ChatStream:
        """Answer the last message of ``conversation`` (user and assistant messages alternating,
        ending with the user's question), streaming.

        ``reply_prefix``: the reply so far, to be continued (a reply cut off at the token limit).
        The chunks then carry only the new text, their events continue the prefix's parse (no
        second ``ThinkStarted``), and ``result.text`` / ``result.reply`` are the whole reply,
        prefix included; the metrics count the new tokens only.

        The system prompt comes from ``settings``; earlier replies are resent without their
        reasoning and the oldest turns are left out when the context would overflow. ``on_token``
        is called with each chunk before it is yielded. A fixed ``settings.seed`` also evaluates
        the prompt afresh (not reusing the previous turn's cache) so the reply is reproducible.
        Raises ``EngineBusyError`` (on iteration) while another stream is generating.
        """
        chosen = settings or GenerationSettings()
        messages = tuple(conversation)

        def fit() -> FittedPrompt:
            return fit_prompt(chosen.system_prompt, messages,
                              lambda fitted: self.tokenize_prompt(fitted, reply_prefix),
                              self._runtime.n_ctx, chosen.max_new_tokens)

        return ChatStream(lambda stream: self._stream_turn(
            stream, on_token, lambda: self._generate(fit, chosen, cancel, on_token, reply_prefix)))

    def stream_completion(self, prompt: str, settings: GenerationSettings | None = None,
                          cancel: CancelToken | None = None,
                          on_token: Callable[[TokenChunk], None] | None = None) -> ChatStream:
        """Continue the raw text ``prompt``, streaming: no chat template, no system prompt (the
        settings' is ignored); special tokens written in it (``<|im_start|>``) are read as such.

        Otherwise as ``stream_chat``: the chunks, the result (``prompt_messages`` is empty), the
        stop rules. Raises ``ContextOverflowError`` (on iteration) when the prompt and
        ``settings.max_new_tokens`` do not fit the context, ``ValueError`` for an empty prompt.
        """
        if not prompt:
            raise ValueError("a completion needs a prompt to continue")
        chosen = settings or GenerationSettings()
        return ChatStream(lambda stream: self._stream_turn(stream, on_token, lambda: self._generate(
            lambda: self._fit_raw_prompt(prompt, chosen.max_new_tokens), chosen, cancel,
            on_token, "")))

    def _fit_raw_prompt(self, prompt: str, reply_reserve: int) -> FittedPrompt:
        add_bos = bool(self._bos_text) and not prompt.startswith(self._bos_text)
        tokens = self._runtime.tokenize(prompt, add_bos=add_bos, parse_special=True)
        if len(tokens) + reply_reserve > self._runtime.n_ctx:
            raise ContextOverflowError(
                f"the prompt takes {len(tokens)} tokens and {reply_reserve} are kept for the "
                f"reply, more than the context of {self._runtime.n_ctx} tokens; raise the context "
                "size or lower the maximum reply length")
        return FittedPrompt(tokens, (), dropped_messages=0)

    def _generate(self, fit: Callable[[], FittedPrompt], settings: GenerationSettings,
                  cancel: CancelToken | None, on_token: Callable[[TokenChunk], None] | None,
                  reply_prefix: str) -> Generator[TokenChunk, None, _Turn]:
        """The token chunks of one turn (run by ``_stream_turn``, engine held); returns the turn."""
        started = time.perf_counter()
        seed = settings.seed if settings.seed is not None else random.randint(0, MAX_SEED)
        fitted = fit()
        evaluated = self._runtime.evaluate_prompt(fitted.tokens, cancel,
                                                  reuse_cache=settings.seed is None)
        prompt_done = time.perf_counter()
        turn = _Turn(started, prompt_done, fitted, max(evaluated, 0), seed,
                     (*self._stop_texts, *settings.stop), reply_prefix)
        if evaluated < 0:
            turn.finish_reason = "cancelled"
        else:
            yield from self._decode_loop(turn, settings, cancel, on_token)
        return turn

    def _decode_loop(self, turn: _Turn, settings: GenerationSettings, cancel: CancelToken | None,
                     on_token: Callable[[TokenChunk], None] | None) -> Iterator[TokenChunk]:
        runtime = self._runtime
        with Sampler(n_vocab=runtime.n_vocab, temperature=settings.temperature, top_k=settings.top_k,
                     top_p=settings.top_p, min_p=settings.min_p,
                     repeat_penalty=settings.repeat_penalty,
                     repeat_last_n=settings.repeat_last_n,
                     presence_penalty=settings.presence_penalty,
                     frequency_penalty=settings.frequency_penalty, seed=turn.seed) as sampler:
            decoder = (self._speculation.decoder(runtime, sampler, turn.fitted.tokens)
                       if self._speculation else
                       SpeculativeDecoder(runtime, sampler, turn.fitted.tokens))
            try:
                yield from self._token_steps(turn, settings, cancel, on_token, decoder)
            finally:
                turn.drafts = (decoder.drafted, decoder.accepted)

    def _token_steps(self, turn: _Turn, settings: GenerationSettings, cancel: CancelToken | None,
                     on_token: Callable[[TokenChunk], None] | None,
                     decoder: SpeculativeDecoder) -> Iterator[TokenChunk]:
        runtime = self._runtime
        stop_tokens = self._stop_tokens
        budget = settings.think_budget
        # tokens the engine writes itself (closing the reasoning), one per step; they go to
        # the KV cache like sampled ones but not through the sampler (a grammar there
        # constrains only what the model writes)
        forced: list[int] = []
        while True:
            if cancel is not None and cancel.cancelled:
                turn.finish_reason = "cancelled"
                return
            if forced:
                token = forced.pop()
            else:
                token = decoder.sample()
                if token in stop_tokens or runtime.is_end_of_generation(token):
                    turn.finish_reason = "stop"
                    return
            chunk, hit_stop_text = turn.add_token(token, runtime.piece(token))
            if on_token is not None:
                on_token(chunk)
            yield chunk
            if hit_stop_text:
                turn.finish_reason = "stop"
                return
            if turn.completion_tokens >= settings.max_new_tokens:
                turn.finish_reason = "length"
                return
            if cancel is not None and cancel.cancelled:
                turn.finish_reason = "cancelled"
                return
            if budget is not None and turn.reasoning_reached(budget):
                forced = self._reasoning_close()[::-1]
                turn.reasoning_stopped_at, budget = budget, None
            # a draft may hold as many tokens as may still be sampled after this one
            room = settings.max_new_tokens - turn.completion_tokens - 1
            decoder.advance(token, max_draft=0 if forced else room)

    def _reasoning_close(self) -> list[int]:
        """The tokens of ``REASONING_CLOSE``, spelled as model text (no special tokens)."""
        return self._runtime.tokenize(REASONING_CLOSE, add_bos=False, parse_special=False)

    def _release(self) -> None:
        """Free the model (``close``: ``TurnEngine.close``), waiting for a token count."""
        with self._vocabulary_lock:
            self._closed = True
            self._runtime.close()
            if self._speculation is not None:
                self._speculation.close()


class _Turn:
    """The state of one reply being generated: text assembly, parsing and measurements."""

    def __init__(self, started: float, prompt_done: float, fitted: FittedPrompt,
                 prompt_eval_tokens: int, seed: int, stop_texts: Sequence[str],
                 reply_prefix: str = "") -> None:
        self.started = started
        self.prompt_done = prompt_done
        self.fitted = fitted
        self.prompt_eval_tokens = prompt_eval_tokens
        self.seed = seed
        self.finish_reason: FinishReason = "stop"
        self.completion_tokens = 0
        self.reasoning_stopped_at: int | None = None
        self.drafts = (0, 0)  # speculative decoding's draft tokens checked and kept
        self._utf8 = Utf8Assembler()
        self._stops = StopStringFilter(stop_texts)
        self._stop_text_seen = False
        self._parser = ReasoningParser()
        self._reply = ReplyAccumulator()
        self._sections = SectionCounter()
        self._parts: list[str] = [reply_prefix]
        self._first_token_at: float | None = None
        self._last_token_at: float | None = None
        if reply_prefix:  # the consumer has these events already; the parser must be past them
            prefix_events = self._parser.feed(reply_prefix)
            self._sections.observe(prefix_events, started)
            self._reply.add(prefix_events)

    def add_token(self, token: int, piece: bytes) -> tuple[TokenChunk, bool]:
        """Take one generated token; returns its chunk and whether a stop string completed."""
        now = time.perf_counter()
        if self._first_token_at is None:
            self._first_token_at = now
        self._last_token_at = now
        self.completion_tokens += 1
        text, self._stop_text_seen = self._stops.push(self._utf8.push(piece))
        events = self._parser.feed(text) if text else []
        self._sections.add_token(events, now)
        self._reply.add(events)
        self._parts.append(text)
        return TokenChunk(text, token, tuple(events)), self._stop_text_seen

    def reasoning_reached(self, budget: int) -> bool:
        """The reply is inside its reasoning, which has ``budget`` generated tokens or more."""
        thinking = self._sections.thinking_tokens
        return thinking is not None and thinking >= budget

    def final_chunk(self) -> TokenChunk:
        """The text held back until the end and the parser's closing events."""
        text = self._utf8.flush()
        if self._stop_text_seen:
            text = ""  # bytes still undecoded came after the stop text: not part of the reply
        else:
            text, self._stop_text_seen = self._stops.push(text)
            if not self._stop_text_seen:
                text += self._stops.flush()
        events = (self._parser.feed(text) if text else []) + self._parser.finish()
        self._sections.observe(events, time.perf_counter())
        self._reply.add(events)
        self._parts.append(text)
        return TokenChunk(text, None, tuple(events))

    def result(self, now: float) -> TurnResult:
        sections = self._sections.totals(self._last_token_at or now)
        first, last = self._first_token_at, self._last_token_at
        decode_s = (last - first) if first is not None and last is not None else 0.0
        rate = (self.completion_tokens - 1) / decode_s if decode_s > 0 else None
        metrics = TurnMetrics(
            prompt_tokens=len(self.fitted.tokens),
            prompt_eval_tokens=self.prompt_eval_tokens,
            prompt_eval_s=self.prompt_done - self.started,
            completion_tokens=self.completion_tokens,
            ttft_s=(first - self.started) if first is not None else None,
            decode_s=decode_s,
            tokens_per_s=rate,
            think_tokens=sections.think_tokens,
            think_s=sections.think_s,
            answer_tokens=sections.answer_tokens,
            answer_s=sections.answer_s,
            seed=self.seed,
            dropped_messages=self.fitted.dropped_messages,
            reasoning_stopped_at=self.reasoning_stopped_at,
            draft_tokens=self.drafts[0],
            accepted_tokens=self.drafts[1],
        )
        return TurnResult("".join(self._parts), self._reply.reply(), self.finish_reason, metrics,
                          self.fitted.messages)
