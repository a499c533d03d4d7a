"""What every test that runs a real model shares: its thread count, and steering.

Greedy text from a real model differs between CPU kernels (AVX2, AVX-512, AMX) and thread counts:
logits that differ in the last bits pick another token at a near-tie, and from there the whole
reply differs. So no test may rely on a model saying particular words, ending by itself within N
tokens, or writing the same text under two configurations whose kernels differ. A test that needs
the model to *do* something steers it instead:

* ``THREADS``: the CPU threads every model-running test uses; the environment variable
  ``FINR1_TEST_THREADS`` overrides the default of 1 (to run the suite as another machine would).
* ``Steering``: llama.cpp's own samplers put in front of the engine's sampler chain, through
  ``app.core.engine.local_engine.Sampler``: a GBNF ``grammar`` that fixes what may be written (once
  the grammar
  is complete llama.cpp allows only end-of-generation tokens, so a literal grammar makes the model
  end by itself), and ``may_end=False``, a logit bias of -inf on every end-of-generation token, so
  a reply runs to ``max_new_tokens``. The model still computes every logit; only the choice among
  tokens is narrowed. ``steered`` installs one for a ``with`` block, the ``steer`` fixture
  (tests/conftest.py) for a test, ``install_steering`` for a whole process (a child process a
  test starts, see ``steered_python``).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

THREADS_VARIABLE = "FINR1_TEST_THREADS"
STEERING_VARIABLE = "FINR1_TEST_STEERING"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _threads_from_environment() -> int:
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if not text:
        return 1
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        raise RuntimeError(f"{THREADS_VARIABLE} must be a whole number of threads (1 or more), "
                           f"not {text!r}")
    return threads


THREADS = _threads_from_environment()

# A reply of plain text: it starts with a visible character and never writes "<", so it opens no
# <think>/<answer> section and spells no stop marker; every token has visible text.
PROSE_GRAMMAR = r"root ::= [^< \t\r\n] [^<]*"
# Digits only. SmolLM2's tokenizer splits numbers into single digits, so such a reply tokenizes
# back into exactly the tokens that were generated (a reply prefix is the same tokens again).
DIGITS_GRAMMAR = "root ::= [0-9]+"


def literal_grammar(text: str) -> str:
    """A grammar allowing exactly ``text``, after which the model can only end its reply."""
    return "root ::= " + json.dumps(text, ensure_ascii=False)


@functools.cache
def _vocabulary(model: Path) -> tuple[int, int, tuple[int, ...]]:
    """(vocab pointer, n_vocab, end-of-generation token ids) of ``model``, loaded vocab-only and
    kept for the life of the process (a grammar sampler points into it)."""
    import llama_cpp

    from app.core.engine.llama_runtime import _prepare_backend

    _prepare_backend()  # llama.cpp's log handled as the app handles it, before the first load
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    handle = llama_cpp.llama_model_load_from_file(str(model).encode("utf-8"), params)
    if not handle:
        raise RuntimeError(f"llama.cpp could not load the vocabulary of {model}")
    vocab = llama_cpp.llama_model_get_vocab(handle)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    end_tokens = tuple(token for token in range(n_vocab)
                       if llama_cpp.llama_vocab_is_eog(vocab, token))
    _kept_models.append(handle)
    return vocab, n_vocab, end_tokens


_kept_models: list[object] = []


def end_tokens(model: Path) -> tuple[int, ...]:
    """The ids of ``model``'s end-of-generation tokens (EOS, EOT, <|im_end|>…)."""
    return _vocabulary(Path(model))[2]


class Steering:
    """Constraints for every reply the engine samples while installed: ``grammar`` (GBNF, rule
    ``root``) and/or ``may_end=False``. ``model``: the GGUF whose vocabulary the constraints are
    written for (any file with the same vocabulary); a sampler for another vocabulary size is
    refused, so a test that loads another model notices."""

    def __init__(self, model: Path, *, grammar: str | None = None, may_end: bool = True) -> None:
        self.model = Path(model)
        self.grammar = grammar
        self.may_end = may_end
        self._vocab, self.n_vocab, self.end_tokens = _vocabulary(self.model)

    def _constraints(self) -> list[object]:
        import llama_cpp

        samplers: list[object] = []
        if self.grammar is not None:
            grammar = llama_cpp.llama_sampler_init_grammar(
                self._vocab, self.grammar.encode("utf-8"), b"root")
            if not grammar:
                raise ValueError(f"llama.cpp refused the grammar {self.grammar!r}")
            samplers.append(grammar)
        if not self.may_end:
            biases = (llama_cpp.llama_logit_bias * len(self.end_tokens))(
                *[llama_cpp.llama_logit_bias(token, float("-inf")) for token in self.end_tokens])
            samplers.append(llama_cpp.llama_sampler_init_logit_bias(
                self.n_vocab, len(self.end_tokens), biases))
        return samplers

    @functools.cached_property
    def sampler_class(self) -> type:
        """A drop-in for ``app.core.engine.llama_runtime.Sampler``: the engine's own chain, preceded by
        the constraints (an outer llama.cpp chain owning both, freed by ``close``)."""
        import llama_cpp

        from app.core.engine.llama_runtime import Sampler

        steering = self

        class SteeredSampler(Sampler):
            def __init__(self, **options: object) -> None:
                super().__init__(**options)  # type: ignore[arg-type]
                if options["n_vocab"] != steering.n_vocab:
                    self.close()
                    raise AssertionError(
                        f"steering is set up for {steering.model.name} ({steering.n_vocab} "
                        f"tokens) but a model with {options['n_vocab']} tokens is generating")
                outer = llama_cpp.llama_sampler_chain_init(
                    llama_cpp.llama_sampler_chain_default_params())
                for constraint in steering._constraints():
                    llama_cpp.llama_sampler_chain_add(outer, constraint)
                llama_cpp.llama_sampler_chain_add(outer, self.handle)
                self._chain = outer

        return SteeredSampler


@contextmanager
def steered(model: Path, *, grammar: str | None = None, may_end: bool = True) -> Iterator[Steering]:
    """Steer every reply the engine samples inside the ``with`` block (any thread)."""
    import app.core.engine.local_engine

    steering = Steering(model, grammar=grammar, may_end=may_end)
    previous = app.core.engine.local_engine.Sampler
    app.core.engine.local_engine.Sampler = steering.sampler_class  # type: ignore[misc]
    try:
        yield steering
    finally:
        app.core.engine.local_engine.Sampler = previous  # type: ignore[misc]


def install_steering(model: Path, *, grammar: str | None = None, may_end: bool = True) -> Steering:
    """Steer every reply this process generates from now on (for child processes)."""
    return steered(model, grammar=grammar, may_end=may_end).__enter__()


_STEERED_START = (
    "import json, os, sys; sys.path.insert(0, {root!r}); "
    "from tests.support.llm_support import STEERING_VARIABLE, install_steering; "
    "options = json.loads(os.environ[STEERING_VARIABLE]); "
    "install_steering(options.pop('model'), **options); "
)


def steered_python(model: Path, *, module: str | None = None, code: str | None = None,
                   grammar: str | None = None, may_end: bool = True) -> tuple[list[str], dict[str, str]]:
    """(argv start, environment additions) for a child Python that steers its replies, then runs
    ``module`` as ``python -m module`` does, or ``code`` as ``python -c code`` does; append the
    arguments to the list and merge the environment additions into the child's environment."""
    if (module is None) == (code is None):
        raise ValueError("give exactly one of module and code")
    start = _STEERED_START.format(root=str(REPO_ROOT))
    if module is not None:
        start += f"import runpy; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    else:
        start += f"exec(compile({code!r}, '<string>', 'exec'))"
    options = {"model": str(model), "grammar": grammar, "may_end": may_end}
    return [sys.executable, "-c", start], {STEERING_VARIABLE: json.dumps(options)}


def open_llama(model: Path, **options: object):  # -> llama_cpp.Llama
    """llama-cpp-python's high-level ``Llama`` for ``model``, loaded by the project's one load rule
    (``foundation.llama_model_params``: no AMX weight buffers, which crash llama.cpp 0.3.36's first
    multi-token decode on AMX CPUs). ``options`` go to ``Llama`` unchanged.

    ``Llama`` builds its load parameters from ``llama_model_default_params`` inside its
    constructor with no way to pass them, so the rule is applied to that factory for the
    duration of the construction only."""
    import llama_cpp
    import llama_cpp.llama_cpp as low_level

    from foundation.llama_model_params import cpu_backend_has_amx

    default_params = low_level.llama_model_default_params

    def project_defaults():  # the same defaults, with the project's rule applied
        params = default_params()
        if cpu_backend_has_amx():
            params.use_extra_bufts = False
        return params

    low_level.llama_model_default_params = project_defaults
    try:
        return llama_cpp.Llama(str(model), **options)
    finally:
        low_level.llama_model_default_params = default_params
