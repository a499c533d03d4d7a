"""Chat templates from a model file that try to crash or hang the app: each is stopped within a
bounded time and memory in the sandbox's child process, the app prompts with ChatML instead and
says why, and the app's own process carries on."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import ChatTemplateError
from app.core.templates.chat_template import (
    FALLBACK_NAME,
    ChatMessage,
    ChatMLTemplate,
    SandboxedJinjaTemplate,
    choose_chat_template,
)
from app.core.templates.sandbox import RENDER_TIMEOUT_S, TemplateSandbox, template_sandbox
from app.core.templates.template_child import (
    CHILD_MODULE,
    MEMORY_LIMIT_BYTES,
    READY,
    read_frame,
    write_frame,
)
from quant.convert import convert_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[3]
ENTRY = REPO_ROOT / "packaging" / "pyinstaller" / "entry.py"
CLI = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
# The kernel limits (address space, CPU time) and /proc, where these tests read them.
LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX limits, /proc")
# An attack must end within the render limit, plus room for a new child on a busy machine.
ATTACK_BOUND_S = RENDER_TIMEOUT_S + 20.0
CONVERSATION = (ChatMessage("system", "SYS"), ChatMessage("user", "Q1"),
                ChatMessage("assistant", "A1"), ChatMessage("user", "Q2"))
CHATML_SOURCE = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
ONE_GIGABYTE_STRING = "{{ 'x'|center(1000000000) }}"
DOUBLING_BY_TILDE = ("{% set ns = namespace(s='x') %}{% for i in range(64) %}"
                     "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}")

# name → (template, what the warning says); the attacks of issue 13, and the C-level methods
# and filters that operator checks alone would miss.
ATTACKS = {
    "macro recursion": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
                        "recursed too deeply"),
    "loop() recursion": ("{% for m in [[1]] recursive %}{{ loop([m]) }}{% endfor %}",
                         "recursed too deeply"),
    "huge repetition": ("{{ 'x' * 10**10 }}", "built a string or list of more than"),
    "doubling with +": ("{% set ns = namespace(s='x') %}{% for i in range(64) %}"
                        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
                        "built a string or list of more than"),
    # the kernel's memory cap or the time limit, whichever comes first on a busy machine
    "doubling with ~": (DOUBLING_BY_TILDE, r"needed more than \d+ MiB|ran for more than"),
    "constant folded at compile time": ("{{ 10**5000 }}", "an integer of more than"),
    "integer of a hundred million digits": ("{{ 10**(10**8) }}", "an integer of more than"),
    "nested loops": ("{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}"
                     "{% endfor %}", f"ran for more than {RENDER_TIMEOUT_S:g} s"),
    "nested loops writing": ("{% for i in range(10**5) %}{% for j in range(10**5) %}x"
                             "{% endfor %}{% endfor %}", "produced more than"),
    "gigabyte filter": (ONE_GIGABYTE_STRING, "needed more than"),
    "string method": ("{{ 'x'.ljust(300000000) }}", "produced more than"),
}


@pytest.fixture
def sandbox() -> Iterator[TemplateSandbox]:
    """A sandbox of the test's own, so a child killed here never shows in another test."""
    own = TemplateSandbox()
    yield own
    own.close()


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and \
        Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _wait_until_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _process_gone(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("name", list(ATTACKS))
def test_an_attacking_template_ends_in_bounded_time_with_chatml_and_a_sentence(
        name: str, sandbox: TemplateSandbox) -> None:
    source, reason = ATTACKS[name]
    started = time.monotonic()
    template = choose_chat_template({"general.name": "Other", "tokenizer.chat_template": source},
                                    sandbox=sandbox)
    elapsed = time.monotonic() - started

    assert elapsed < ATTACK_BOUND_S
    assert isinstance(template, ChatMLTemplate)
    assert template.name == FALLBACK_NAME
    assert template.warning is not None
    assert re.search(reason, template.warning)
    assert "The app prompts this model with ChatML instead" in template.warning
    assert template.render(CONVERSATION).startswith("<|im_start|>system\nSYS<|im_end|>")
    # and the sandbox serves the next model as before
    kept = choose_chat_template({"tokenizer.chat_template": CHATML_SOURCE}, sandbox=sandbox)
    assert kept.render(CONVERSATION) == ChatMLTemplate().render(CONVERSATION)


@LINUX
def test_the_sandbox_childs_memory_is_capped_by_the_kernel(sandbox: TemplateSandbox) -> None:
    SandboxedJinjaTemplate(CHATML_SOURCE, sandbox=sandbox)
    pid = sandbox.child_pid
    assert pid is not None
    limits = Path(f"/proc/{pid}/limits").read_text()
    address_space = next(line for line in limits.splitlines() if line.startswith("Max address"))
    assert address_space.split()[3] == str(MEMORY_LIMIT_BYTES)

    # one allocation of a gigabyte: refused by the cap at once, where it would otherwise succeed
    with pytest.raises(ChatTemplateError, match=f"needed more than {MEMORY_LIMIT_BYTES >> 20} MiB"):
        SandboxedJinjaTemplate(ONE_GIGABYTE_STRING, sandbox=sandbox).render(CONVERSATION)
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kib = int(next(line for line in status.splitlines()
                        if line.startswith("VmHWM")).split()[1])
    assert peak_kib * 1024 <= MEMORY_LIMIT_BYTES
    assert sandbox.child_pid == pid  # a MemoryError does not even cost a new child


@LINUX
def test_the_apps_own_memory_does_not_grow_with_an_attack(sandbox: TemplateSandbox) -> None:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for source in ("{{ 'x' * 10**10 }}", DOUBLING_BY_TILDE, ONE_GIGABYTE_STRING):
        choose_chat_template({"tokenizer.chat_template": source}, sandbox=sandbox)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 64 * 1024


def test_a_template_that_runs_too_long_costs_its_child_and_the_next_request_gets_another(
        sandbox: TemplateSandbox) -> None:
    SandboxedJinjaTemplate(CHATML_SOURCE, sandbox=sandbox)
    first = sandbox.child_pid
    assert first is not None
    hanging = SandboxedJinjaTemplate(ATTACKS["nested loops"][0], sandbox=sandbox)
    with pytest.raises(ChatTemplateError, match="ran for more than"):
        hanging.render(CONVERSATION)
    assert _wait_until_gone(first, 10)
    rendered = SandboxedJinjaTemplate(CHATML_SOURCE, sandbox=sandbox).render(CONVERSATION)
    assert rendered == ChatMLTemplate().render(CONVERSATION)
    assert sandbox.child_pid not in (None, first)


def test_a_template_that_explodes_only_on_a_longer_conversation_fails_that_turn_clearly(
        sandbox: TemplateSandbox) -> None:
    source = "{% if messages|length > 4 %}{{ 10**(10**8) }}{% endif %}" + CHATML_SOURCE
    template = choose_chat_template({"tokenizer.chat_template": source}, sandbox=sandbox)
    assert isinstance(template, SandboxedJinjaTemplate)  # the trial render passed
    longer = (*CONVERSATION, ChatMessage("assistant", "A2"), ChatMessage("user", "Q3"))
    with pytest.raises(ChatTemplateError, match="integer of more than"):
        template.render(longer)
    assert template.render(CONVERSATION) == ChatMLTemplate().render(CONVERSATION)


def test_a_template_refusing_the_trial_conversation_is_kept_its_rules_apply_per_turn(
        sandbox: TemplateSandbox) -> None:
    source = ("{% if messages[0].role == 'system' %}{{ raise_exception('no system role') }}"
              "{% endif %}" + CHATML_SOURCE)
    template = choose_chat_template({"tokenizer.chat_template": source}, sandbox=sandbox)
    assert isinstance(template, SandboxedJinjaTemplate)
    assert template.warning is None
    with pytest.raises(ChatTemplateError, match="no system role"):
        template.render(CONVERSATION)
    assert template.render(CONVERSATION[1:]).startswith("<|im_start|>user\nQ1")


def test_a_long_document_in_the_conversation_renders_whole(sandbox: TemplateSandbox) -> None:
    template = SandboxedJinjaTemplate(CHATML_SOURCE, sandbox=sandbox)
    template.render(CONVERSATION)  # a short reply first: the next may be far longer
    document = ChatMessage("user", "年报 " * 1_000_000)
    assert template.render([document]) == ChatMLTemplate().render([document])


def test_every_model_load_reuses_the_one_child() -> None:
    metadata = {"tokenizer.chat_template": CHATML_SOURCE}
    choose_chat_template(metadata)
    pid = template_sandbox().child_pid
    for _ in range(3):
        assert isinstance(choose_chat_template(metadata), SandboxedJinjaTemplate)
    assert template_sandbox().child_pid == pid is not None


def test_closing_the_sandbox_ends_its_child(sandbox: TemplateSandbox) -> None:
    SandboxedJinjaTemplate(CHATML_SOURCE, sandbox=sandbox)
    pid = sandbox.child_pid
    assert pid is not None
    sandbox.close()
    assert _wait_until_gone(pid, 10)


@LINUX
def test_a_runaway_render_ends_even_when_the_app_that_started_it_was_killed(
        tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, sys, threading
        from app.core.templates.chat_template import SandboxedJinjaTemplate
        from app.core.templates.sandbox import TemplateSandbox
        sandbox = TemplateSandbox(timeout_s=3600)
        hanging = SandboxedJinjaTemplate({ATTACKS["nested loops"][0]!r}, sandbox=sandbox)
        print(sandbox.child_pid, flush=True)
        threading.Timer(0.5, lambda: os._exit(0)).start()
        hanging.render([])
    """)
    app = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    orphan = int(app.stdout.split()[0])
    # the CPU-time limit the child set itself for the request ends it (SIGXCPU)
    assert _wait_until_gone(orphan, 60)


def test_the_installed_apps_executable_runs_the_sandbox_child() -> None:
    child = subprocess.Popen([sys.executable, str(ENTRY), "-m", CHILD_MODULE],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO_ROOT)
    assert child.stdin is not None and child.stdout is not None
    try:
        assert read_frame(child.stdout, 1 << 20) == READY
        write_frame(child.stdin, {"source": "{{ messages[0].content }}!", "max_output_chars": 99,
                                  "context": {"messages": [{"role": "user", "content": "hi"}]}})
        assert read_frame(child.stdout, 1 << 20) == {"text": "hi!"}
        child.stdin.close()
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.wait()


# -- a model file through the whole app ----------------------------------------------------------

@pytest.fixture(scope="module")
def attacking_gguf(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint with the macro-recursion template, converted to GGUF."""
    workdir = tmp_path_factory.mktemp("attacking")
    checkpoint = workdir / "other-model"
    shutil.copytree(tiny_checkpoint, checkpoint)
    config_path = checkpoint / "tokenizer_config.json"
    config_path.chmod(0o644)
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] = ATTACKS["macro recursion"][0]
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return convert_checkpoint(checkpoint, workdir / "other-model.gguf", "bf16")


def test_chat_with_an_attacking_model_file_warns_and_answers_with_chatml(
        attacking_gguf: Path) -> None:
    command = [sys.executable, "-c", CLI, "chat", str(attacking_gguf), "Hello",
               "--max-tokens", "2", "--threads", "1", "--ctx", "256", "--seed", "1", "--json"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "recursed too deeply" in result.stderr
    assert "ChatML instead" in result.stderr
    assert json.loads(result.stdout)["finish_reason"] in ("stop", "length")


def test_engine_load_passes_the_fallback_warning_on(attacking_gguf: Path) -> None:
    from app.core.engine.config import EngineConfig
    from app.core.engine.local_engine import ChatEngine

    with ChatEngine(attacking_gguf, EngineConfig(n_ctx=256, n_threads=1)) as engine:
        assert engine.info.template_name == FALLBACK_NAME
        assert any("recursed too deeply" in warning for warning in engine.info.warnings)

